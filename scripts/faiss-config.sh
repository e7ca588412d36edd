#!/usr/bin/env bash
# faiss-config.sh MODE [FAISS_PREFIX]
# Decides how Precis links FAISS and prints, for MODE:
#   mode    "native" when a real libfaiss_c is found, "compat" otherwise
#   cflags  include flags
#   libs    link flags (FAISS and what it needs)
#   desc    a one-line description for logs and precis-bench
# Search order: FAISS_PREFIX (argument or env), the project's own fast build
# in .deps/faiss (make faiss-fast), pkg-config faiss_c, the linker path.
# Without libfaiss_c we compile index/ann/faiss_compat.cpp against Debian's
# static libfaiss.a (which ships the C API headers but not their code).
set -u
mode=${1:-desc}
prefix=${2:-${FAISS_PREFIX:-}}
here=$(cd "$(dirname "$0")/.." && pwd)
deplibs="-lblas -llapack -fopenmp"

emit() { # kind cflags libs desc
  case "$mode" in
    mode) echo "$1" ;;
    cflags) echo "$2" ;;
    libs) echo "$3" ;;
    desc) echo "$4" ;;
  esac
  exit 0
}

for p in "$prefix" "$here/.deps/faiss"; do
  [ -n "$p" ] || continue
  if ls "$p"/lib*/libfaiss_c.* >/dev/null 2>&1; then
    libdir=$(dirname "$(ls "$p"/lib*/libfaiss_c.* | head -n1)")
    extra=""
    # a fast build may carry AVX2 kernels in libfaiss_avx2
    if ls "$libdir"/libfaiss_avx2.* >/dev/null 2>&1; then core="-lfaiss_avx2"; else core="-lfaiss"; fi
    emit native "-isystem $p/include" "-L$libdir -Wl,-rpath,$libdir -lfaiss_c $core $extra $deplibs" \
      "libfaiss_c from $p"
  fi
done

if pkg-config --exists faiss_c 2>/dev/null; then
  emit native "$(pkg-config --cflags faiss_c)" "$(pkg-config --libs faiss_c) $deplibs" \
    "libfaiss_c from pkg-config"
fi

if echo 'int main(void){return 0;}' | ${CC:-cc} -x c - -o /dev/null -lfaiss_c -lfaiss $deplibs -lstdc++ >/dev/null 2>&1; then
  emit native "" "-lfaiss_c -lfaiss $deplibs" "libfaiss_c from the linker path"
fi

emit compat "" "-lfaiss $deplibs" "Debian libfaiss.a with the Precis C API compatibility layer"
