#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...]: build the libFuzzer targets of fuzz/ with
# clang (-fsanitize=fuzzer,address,undefined) into build/fuzz/ and run each
# for SECONDS (default 60), printing libFuzzer's final statistics (executions,
# exec/s) and its last coverage line (cov: edges, ft: features).
#
# Targets: frame, dispatch, readers, payload (default: all).
# The checked-in seeds in fuzz/corpus/<target>/ are read-only inputs; what the
# fuzzer finds goes to build/fuzz/corpus/<target>/. Regression inputs in
# fuzz/regress/<target>/ (each once a crash) are replayed before fuzzing.
# Crashes, leaks and timeouts go to build/fuzz/crashes/<target>-*.
# Exit status 1 when any target crashed or a regression input fails.
#
# Options: --build-only; --seeds (rebuild and rerun fuzz/gen_seeds, which
# rewrites fuzz/corpus/). Environment: CLANG (default clang), FUZZ_NICE
# (default 10), FUZZ_JOBS (parallel compile jobs, default 2).
# Installs clang and libclang-rt-14-dev with apt-get when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=60 BUILD_ONLY=0 SEEDS=0 TARGETS=()
for a in "$@"; do
  case "$a" in
    --build-only) BUILD_ONLY=1 ;;
    --seeds) SEEDS=1 ;;
    [0-9]*) SECS=$a ;;
    frame|dispatch|readers|payload) TARGETS+=("$a") ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$a'" >&2; exit 2 ;;
  esac
done
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(frame dispatch readers payload)

CC=${CLANG:-clang}
CXX=${CLANGXX:-${CC/clang/clang++}}
NICE=${FUZZ_NICE:-10}
JOBS=${FUZZ_JOBS:-2}
# clang and its libFuzzer runtime, from Debian (as scripts/deps.sh does for
# the rest: installed when missing and running as root)
if ! command -v "$CC" >/dev/null || ! dpkg -s libclang-rt-14-dev >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "fuzz.sh: installing clang libclang-rt-14-dev"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang libclang-rt-14-dev >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang libclang-rt-14-dev >/dev/null; }
  fi
fi
if ! command -v "$CC" >/dev/null; then
  echo "fuzz.sh: $CC not found (apt-get install -y clang libclang-rt-14-dev)" >&2
  exit 2
fi

B=build/fuzz
mkdir -p $B/obj $B/gen $B/crashes $B/corpus
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
FL="$SAN -fsanitize=fuzzer-no-link"
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -pthread -Iinclude -Icommon $(printf -- "-I%s " index/*/) -Iproto -Iserver -Iclient/cli -I$B/gen $FL"
CXXFLAGS="-std=c++17 -g -O1 -pthread -Iinclude -Icommon $(printf -- "-I%s " index/*/) -Iproto -I$B/gen $FL $(scripts/faiss-config.sh cflags)"

if [ ! -f $B/gen/precis.pb-c.c ] || [ proto/precis.proto -nt $B/gen/precis.pb-c.c ]; then
  protoc-c --proto_path=proto --c_out=$B/gen proto/precis.proto
fi

# compile SRC -> build/fuzz/obj/<path>.o when older than its source or headers
objs=()
compile() {
  local src=$1 o=$B/obj/${1%.*}.o
  objs+=("$o")
  if [ -f "$o" ] && [ "$o" -nt "$src" ] && [ -z "$(find include common index proto server client/cli $B/gen -name '*.h' -newer "$o" 2>/dev/null | head -1)" ]; then
    return 0
  fi
  mkdir -p "$(dirname "$o")"
  case "$src" in
    *.cpp) nice -n "$NICE" $CXX $CXXFLAGS -c "$src" -o "$o" ;;
    *) nice -n "$NICE" $CC $CFLAGS -c "$src" -o "$o" ;;
  esac
}
# compile a list in parallel (at most $JOBS at once); objects land in $objs
compile_all() {
  objs=()
  local pids=() s
  for s in "$@"; do
    ( compile "$s" ) & pids+=($!)
    if [ ${#pids[@]} -ge "$JOBS" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  done
  for p in "${pids[@]}"; do wait "$p"; done
  for s in "$@"; do objs+=("$B/obj/${s%.*}.o"); done
}

COMMON=(common/*.c)
WIRE=(proto/frame.c proto/pbparam.c proto/wirecheck.c $B/gen/precis.pb-c.c "${COMMON[@]}")
ENGINE_C=(index/*/*.c)
# every C++ file of the engine, as the Makefile's ENGINE_CXX: the
# compatibility layer only when no libfaiss_c is linked
ENGINE_CXX=()
for f in index/*/*.cpp; do [ "$f" = index/ann/faiss_compat.cpp ] || ENGINE_CXX+=("$f"); done
[ "$(scripts/faiss-config.sh mode)" = compat ] && ENGINE_CXX+=(index/ann/faiss_compat.cpp)
FAISS_LIBS=$(scripts/faiss-config.sh libs | sed 's/-fopenmp/-lgomp/')

build() {
  local t=$1 srcs=() libs=() link=$CC
  case "$t" in
    frame) srcs=(fuzz/fuzz_frame.c "${WIRE[@]}"); libs=(-lprotobuf-c) ;;
    payload) srcs=(fuzz/fuzz_payload.c index/store/payload.c common/status.c); libs=(-ljansson) ;;
    readers) srcs=(fuzz/fuzz_readers.c client/cli/readers.c client/cli/readers_jsonl.c); libs=(-ljansson -lm) ;;
    dispatch)
      srcs=(fuzz/fuzz_dispatch.c server/dispatch.c server/config.c
            server/metrics.c server/net.c server/snapshot.c server/dispatch_filter.c server/dispatch_retrieve.c "${WIRE[@]}" "${ENGINE_C[@]}" "${ENGINE_CXX[@]}")
      libs=(-lrocksdb -ljansson -luring -lprotobuf-c -lmicrohttpd -lroaring $FAISS_LIBS -lm)
      link=$CXX ;;
  esac
  compile_all "${srcs[@]}"
  local bin=$B/fuzz_$t
  local newest
  newest=$(ls -t "${objs[@]}" "$bin" 2>/dev/null | head -1 || true)
  if [ "$newest" != "$bin" ]; then
    nice -n "$NICE" $link $SAN -fsanitize=fuzzer -pthread -o "$bin" "${objs[@]}" "${libs[@]}"
  fi
}

for t in "${TARGETS[@]}"; do echo "== build fuzz_$t"; build "$t"; done

if [ "$SEEDS" = 1 ]; then
  nice -n "$NICE" $CC -std=c11 -D_GNU_SOURCE -g -Iinclude -Icommon -Iproto -I$B/gen -o $B/gen_seeds \
    fuzz/gen_seeds.c proto/frame.c $B/gen/precis.pb-c.c -lprotobuf-c
  $B/gen_seeds fuzz/corpus
fi
[ "$BUILD_ONLY" = 1 ] && exit 0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}
status=0
summary=()
for t in "${TARGETS[@]}"; do
  bin=$B/fuzz_$t
  maxlen=4096
  [ "$t" = dispatch ] && maxlen=16384
  [ "$t" = readers ] && maxlen=16384
  # replay regression inputs first
  if compgen -G "fuzz/regress/$t/*" >/dev/null; then
    echo "== replay fuzz/regress/$t"
    if ! nice -n "$NICE" "$bin" -runs=0 fuzz/regress/$t/* >$B/replay-$t.log 2>&1; then
      tail -n 40 $B/replay-$t.log
      echo "fuzz.sh: a regression input of $t fails again" >&2
      status=1
    fi
  fi
  echo "== fuzz $t for ${SECS}s"
  mkdir -p $B/corpus/$t
  log=$B/fuzz-$t.log
  rc=0
  dict=() # NUL bytes, invalid UTF-8, huge repeated fields (issue 11)
  [ -f fuzz/$t.dict ] && dict=(-dict=fuzz/$t.dict)
  nice -n "$NICE" "$bin" -max_total_time="$SECS" -print_final_stats=1 -max_len=$maxlen \
    -timeout=30 -rss_limit_mb=4096 -artifact_prefix=$B/crashes/$t- "${dict[@]}" \
    $B/corpus/$t fuzz/corpus/$t >"$log" 2>&1 || rc=$?
  cov=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: [0-9]+' | tail -n1 | sed -nE 's/.*cov: ([0-9]+) ft: ([0-9]+).*/cov \1 ft \2/p')
  execs=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p' "$log" | tail -n1)
  eps=$(sed -nE 's/^stat::average_exec_per_sec: +([0-9]+)/\1/p' "$log" | tail -n1)
  ncorp=$(ls $B/corpus/$t | wc -l)
  line="$t: ${execs:-?} execs, ${eps:-?} exec/s, ${cov:-cov ?}, corpus $ncorp, exit $rc"
  echo "$line"
  if [ "$rc" -ne 0 ]; then
    status=1
    grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -n 20
    echo "(full log: $log)"
  fi
  summary+=("$line")
done
echo
echo "== fuzz summary (${SECS}s per target)"
printf '%s\n' "${summary[@]}"
exit $status
