#!/usr/bin/env bash
# check-abi.sh BUILD_DIR SO_MAJOR: libprecis.so exports only the public API
# (precis_<lowercase>..., no precis__ internals, frame_*, precis__v1__*
# protobuf code or common/ helpers), carries the versioned soname
# libprecis.so.SO_MAJOR (the Makefile's), and the links libprecis.so ->
# libprecis.so.SO_MAJOR -> the file exist. Prints the offending symbols and
# exits 1 otherwise.
set -euo pipefail
O=${1:-build}
MAJOR=${2:?usage: check-abi.sh BUILD_DIR SO_MAJOR}
cd "$(dirname "$0")/.."
so=$O/libprecis.so
[ -e "$so" ] || { echo "check-abi: $so missing" >&2; exit 1; }
bad=0
syms=$(nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' | sed 's/@.*//')
n=$(wc -l <<<"$syms")
leaks=$(grep -Ev '^precis_[a-z][a-z0-9_]*$' <<<"$syms" || true)
if [ -n "$leaks" ]; then
  echo "check-abi: $so exports symbols outside precis_*:" >&2
  sed 's/^/  /' <<<"$leaks" >&2
  bad=1
fi
soname=$(readelf -d "$so" | sed -nE 's/.*\(SONAME\).*\[(.*)\]/\1/p')
if [ "$soname" != "libprecis.so.$MAJOR" ]; then
  echo "check-abi: soname is '$soname', want libprecis.so.$MAJOR" >&2
  bad=1
fi
for l in "$O/libprecis.so" "$O/libprecis.so.$MAJOR"; do
  [ -L "$l" ] || { echo "check-abi: $l is not a symbolic link" >&2; bad=1; }
done
if [ -e include/precis/limits.h ] && grep -nE 'INFLIGHT|MAX_CONNECTIONS|SNAPSHOTS_LISTED' include/precis/limits.h >&2; then
  echo "check-abi: server tuning in the installed include/precis/limits.h (server/srv_limits.h)" >&2
  bad=1
fi
[ "$bad" = 0 ] && echo "check-abi: $n symbols, all precis_*; soname $soname"
exit $bad
