#!/usr/bin/env bash
# faiss-fast.sh (`make faiss-fast`): builds FAISS 1.7.3 with its C API
# (libfaiss_c) and AVX2 kernels from Debian's own source package, as shared
# libraries, into .deps/faiss, where scripts/faiss-config.sh finds it.
#
# Debian's libfaiss-dev is a static libfaiss.a compiled for the baseline
# x86-64 ISA (SSE2) and without libfaiss_c; Precis then compiles
# index/ann/faiss_compat.cpp instead. This script gives a native build:
#
#   1. fetch: `apt-get source faiss` through a private apt configuration in
#      .deps/faiss-src/apt (its own sources.list with deb-src lines copied
#      from the system's deb lines, its own lists/ and cache). The system's
#      apt configuration, lists and cache are not touched.
#   2. build deps: installs with apt-get what is missing (cmake, g++,
#      libopenblas-dev, liblapack-dev, dpkg-dev). gcc's libgomp is the OpenMP.
#   3. build: CMake, Release, Python/GPU/tests off, C API on, shared libs,
#      only the targets `faiss` and `faiss_c`.
#   4. install into the prefix (a temp dir first, renamed at the end) and
#      write a stamp; a second run with the same stamp does nothing. The
#      build tree .deps/faiss-build is kept, so a rebuild is incremental.
#
# On AVX2: FAISS_OPT_LEVEL=avx2 makes 1.7.3 build a second library,
# faiss_avx2, next to the generic `faiss` -- but 1.7.3's c_api links
# libfaiss_c to the generic `faiss` (c_api/CMakeLists.txt:
# `target_link_libraries(faiss_c PRIVATE faiss)`), so that would compile
# FAISS twice and libfaiss_c would still run the SSE kernels. Instead we keep
# FAISS_OPT_LEVEL=generic and compile the one `faiss` target with exactly the
# flags faiss_avx2 gets (-mavx2 -mfma -mf16c -mpopcnt): libfaiss.so then is
# the AVX2 build, and faiss-config.sh links `-lfaiss_c -lfaiss`.
#
# Environment knobs:
#   FAISS_FAST_PREFIX  install prefix            (default: <repo>/.deps/faiss)
#   FAISS_FAST_NATIVE  1 = add -march=native     (default: 0; the result then
#                      only runs on CPUs like this one)
#   FAISS_FAST_JOBS    parallel compile jobs     (default: nproc, at most 2)
#   FAISS_FAST_NICE    nice level for the build  (default: 10)
#   FAISS_FAST_FORCE   1 = rebuild even if the stamp matches
# Log: .deps/faiss-build.log (appended per run). Prints the time it took.
#
# `scripts/faiss-fast.sh bench [DATASET...]` (default glove-small) builds
# bench/faiss_vs_hnswlib.cc into build-faissbench/ three ways and runs it
# single-threaded: FAISS = Debian's libfaiss.a, FAISS = this build (in
# FAISS_FAST_PREFIX), and hnswlib (bench/hnswlib_baseline.cpp, compiled
# once with the Makefile's flags = SSE and once with -mavx2 -mfma = AVX).
# Tables go to stdout and bench/out/faiss-hnswlib-<dataset>.md; extra
# harness options in FVH_ARGS (e.g. FVH_ARGS="--M 16 --reps 5"); a subset
# of the variants in FVH_VARIANTS (default "debian fast hnswlib hnswlib-sse").
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
deps="$here/.deps"
prefix=${FAISS_FAST_PREFIX:-$deps/faiss}
native=${FAISS_FAST_NATIVE:-0}
ncpu=$(nproc 2>/dev/null || echo 1)
jobs=${FAISS_FAST_JOBS:-$(( ncpu < 2 ? ncpu : 2 ))}
nicelevel=${FAISS_FAST_NICE:-10}
log="$deps/faiss-build.log"
srcroot="$deps/faiss-src"
builddir="$deps/faiss-build"
want_version="1.7.3"

mkdir -p "$deps"
t0=$(date +%s)
say() { echo "faiss-fast: $*" >&2; echo "[$(date '+%F %T')] $*" >>"$log"; }
die() { say "ERROR: $*"; echo "faiss-fast: see $log" >&2; exit 1; }
elapsed() { local s=$(( $(date +%s) - t0 )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

arch_flags="-mavx2 -mfma -mf16c -mpopcnt"
[ "$native" = 1 ] && arch_flags="$arch_flags -march=native"
cmake_args=(
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_SHARED_LIBS=ON
  -DBUILD_TESTING=OFF
  -DFAISS_ENABLE_PYTHON=OFF
  -DFAISS_ENABLE_GPU=OFF
  -DFAISS_ENABLE_C_API=ON
  -DFAISS_OPT_LEVEL=generic
  -DCMAKE_INSTALL_LIBDIR=lib
  "-DCMAKE_INSTALL_RPATH=\$ORIGIN"
  -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON
  "-DCMAKE_CXX_FLAGS=$arch_flags"
  "-DCMAKE_C_FLAGS=$arch_flags"
)
recipe=1 # bump when the build steps change in a way that needs a rebuild
stamp_text="faiss $want_version (Debian source package), recipe $recipe
cmake ${cmake_args[*]}
cxx $(${CXX:-g++} --version 2>/dev/null | head -n1)"
stamp_file="$prefix/.precis-faiss-fast.stamp"

run_bench() {
  [ -e "$prefix/lib/libfaiss_c.so" ] || { echo "faiss-fast: no build in $prefix; run make faiss-fast first" >&2; exit 1; }
  local b="$here/build-faissbench" cxx=${CXX:-g++} ds dir name
  local std=(-std=c++17 -O2 -g -Wall -Wextra -Werror -pthread)
  mkdir -p "$b" "$here/bench/out"
  ( set -x
    "$cxx" "${std[@]}" -c "$here/bench/hnswlib_baseline.cpp" -o "$b/hnswb_sse.o"
    "$cxx" "${std[@]}" -mavx2 -mfma -c "$here/bench/hnswlib_baseline.cpp" -o "$b/hnswb_avx.o"
    "$cxx" "${std[@]}" -fopenmp -DFVH_FAISS_DESC='"Debian libfaiss.a"' -I"$here/bench" \
      "$here/bench/faiss_vs_hnswlib.cc" "$b/hnswb_avx.o" -o "$b/fvh-debian" -lfaiss -lblas -llapack
    "$cxx" "${std[@]}" -fopenmp -DFVH_FAISS_DESC='"Debian libfaiss.a"' -I"$here/bench" \
      "$here/bench/faiss_vs_hnswlib.cc" "$b/hnswb_sse.o" -o "$b/fvh-debian-hnsw-sse" -lfaiss -lblas -llapack
    "$cxx" "${std[@]}" -fopenmp -DFVH_FAISS_DESC='"faiss-fast"' -isystem "$prefix/include" -I"$here/bench" \
      "$here/bench/faiss_vs_hnswlib.cc" "$b/hnswb_avx.o" -o "$b/fvh-fast" \
      -L"$prefix/lib" -Wl,-rpath,"$prefix/lib" -lfaiss -lblas -llapack
  ) || exit 1
  [ $# -gt 0 ] || set -- glove-small
  for ds in "$@"; do
    if [ -d "$ds" ]; then dir=$ds; else dir="${PRECIS_DATA_DIR:-$here/data}/$ds"; fi
    name=$(basename "$dir")
    [ -f "$dir/base.f32" ] || { echo "faiss-fast: no $dir/base.f32 (scripts/fetch-data.sh $name)" >&2; exit 1; }
    local md="$here/bench/out/faiss-hnswlib-$name.md"
    { echo "## $name ($(date -u '+%F %H:%M') UTC, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
      echo
      local first=1 bin lib
      for v in ${FVH_VARIANTS:-debian fast hnswlib hnswlib-sse}; do
        case $v in
          debian) bin=fvh-debian lib=faiss ;;
          fast) bin=fvh-fast lib=faiss ;;
          hnswlib) bin=fvh-debian lib=hnswlib ;;
          hnswlib-sse) bin=fvh-debian-hnsw-sse lib=hnswlib ;;
          *) echo "faiss-fast: unknown variant $v" >&2; exit 1 ;;
        esac
        # shellcheck disable=SC2086
        OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$b/$bin" --data "$dir" --lib "$lib" ${FVH_ARGS:-} |
          if [ $first = 1 ]; then cat; else tail -n +3; fi
        first=0
      done
    } | tee "$md"
  done
}
if [ "${1:-}" = bench ]; then
  shift
  run_bench "$@"
  exit 0
fi

if [ "${FAISS_FAST_FORCE:-0}" != 1 ] && [ -e "$prefix/lib/libfaiss_c.so" ] &&
   [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp_text" ]; then
  echo "faiss-fast: up to date in $prefix (FAISS_FAST_FORCE=1 rebuilds)" >&2
  exit 0
fi

say "building FAISS $want_version into $prefix (jobs=$jobs, flags: $arch_flags)"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# ---- build dependencies ----
need=()
for p in cmake g++ make dpkg-dev libopenblas-dev liblapack-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  { $SUDO apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"; } \
    >>"$log" 2>&1 || die "apt-get install ${need[*]} failed"
fi

# ---- private apt configuration with deb-src lines ----
# Prints one-line `deb-src [signed-by=...] URI SUITE COMPONENTS` entries for
# every `deb` entry of the system's configuration (deb822 .sources files and
# one-line .list files).
system_deb_src() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush(   i, j, nu, ns, u, s, opt) {
        if (types ~ /(^| )deb( |$)/ && uris != "" && suites != "" && enabled != "no") {
          opt = signed != "" ? "[signed-by=" signed "] " : ""
          nu = split(uris, u, " "); ns = split(suites, s, " ")
          for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
            print "deb-src " opt u[i] " " s[j] " " comps
        }
        types = uris = suites = comps = signed = enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      {
        key = tolower($1); sub(/:$/, "", key)
        val = $0; sub(/^[^:]*:[ \t]*/, "", val)
        if (key == "types") types = val
        else if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "components") comps = val
        else if (key == "signed-by") signed = val
        else if (key == "enabled") enabled = tolower(val)
      }
      END { flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n -E 's/^[[:space:]]*deb[[:space:]]+/deb-src /p' "$f"
  done
}

fetch_source() {
  local apt="$srcroot/apt"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$srcroot/pkg"
  system_deb_src | sort -u >"$apt/sources.list"
  [ -s "$apt/sources.list" ] || die "no deb entries found in /etc/apt to derive deb-src from"
  say "private sources.list: $(tr '\n' ';' <"$apt/sources.list")"
  local aptopts=(
    -o "Dir::Etc::SourceList=$apt/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt/lists"
    -o "Dir::Cache=$apt/cache"
    -o "APT::Sandbox::User=root"
    -o "Debug::NoLocking=1"
  )
  say "apt-get update (private lists)"
  apt-get "${aptopts[@]}" update >>"$log" 2>&1 || die "private apt-get update failed"
  say "apt-get source faiss"
  (cd "$srcroot/pkg" && apt-get "${aptopts[@]}" source "faiss=$want_version*" >>"$log" 2>&1) ||
    (cd "$srcroot/pkg" && apt-get "${aptopts[@]}" source faiss >>"$log" 2>&1) ||
    die "apt-get source faiss failed"
}

src=$(ls -d "$srcroot"/pkg/faiss-"$want_version"*/ 2>/dev/null | head -n1 || true)
if [ -z "$src" ] || [ ! -f "$src/CMakeLists.txt" ]; then
  rm -rf "$srcroot/pkg"
  fetch_source
  src=$(ls -d "$srcroot"/pkg/faiss-*/ 2>/dev/null | head -n1 || true)
  [ -n "$src" ] && [ -f "$src/CMakeLists.txt" ] || die "no faiss source tree in $srcroot/pkg"
fi
src=${src%/}
grep -q "VERSION $want_version" "$src/CMakeLists.txt" ||
  say "warning: $src does not look like FAISS $want_version"
say "source: $src ($(elapsed))"

# ---- configure + build ----
# the build tree is reused (incremental) unless FAISS_FAST_FORCE=1
[ "${FAISS_FAST_FORCE:-0}" = 1 ] && rm -rf "$builddir"
mkdir -p "$builddir"
say "cmake ${cmake_args[*]}"
cmake -S "$src" -B "$builddir" "${cmake_args[@]}" >>"$log" 2>&1 || die "cmake configure failed"
say "compiling faiss + faiss_c with $jobs jobs at nice $nicelevel (this takes a while)"
nice -n "$nicelevel" cmake --build "$builddir" --target faiss faiss_c -j "$jobs" >>"$log" 2>&1 ||
  die "compile failed"
say "compiled ($(elapsed))"

# ---- install: into a temp prefix, then rename ----
tmp="$prefix.tmp.$$"
rm -rf "$tmp"
# with FAISS_OPT_LEVEL=generic and Python/GPU/tests off, this installs
# libfaiss.so, the FAISS headers and the C API headers (error_impl.h too)
cmake --install "$builddir" --prefix "$tmp" >>"$log" 2>&1 || die "install failed"
# 1.7.3's c_api/CMakeLists.txt has no install rule for the library itself;
# it was linked with RUNPATH $ORIGIN, so it finds libfaiss.so next to it
install -m 0755 "$builddir/c_api/libfaiss_c.so" "$tmp/lib/libfaiss_c.so" ||
  die "no $builddir/c_api/libfaiss_c.so"
[ -e "$tmp/lib/libfaiss_c.so" ] || die "install produced no $tmp/lib/libfaiss_c.so"
printf '%s\n' "$stamp_text" >"$tmp/.precis-faiss-fast.stamp"
rm -rf "$prefix"
mv "$tmp" "$prefix"
say "installed into $prefix in $(elapsed)"
ls -l "$prefix"/lib/ >>"$log"
echo "faiss-fast: done in $(elapsed): $prefix/lib/libfaiss_c.so" >&2
