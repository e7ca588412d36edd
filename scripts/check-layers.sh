#!/usr/bin/env bash
# check-layers.sh BUILD_DIR: the library layering the Makefile's include
# paths enforce (README.md, "Building"), checked once more at link level:
#   - no source reaches into another part with a relative include ("../");
#   - libprecis_engine.a needs nothing from libprecis_wire.a or protobuf-c;
#   - libprecis_common.a needs nothing from any other Precis library.
# Prints what breaks a rule and exits 1.
set -euo pipefail
O=${1:-build}
cd "$(dirname "$0")/.."
bad=0
if grep -rnE '#include[[:space:]]+"\.\./' common index proto client server >&2; then
  echo "check-layers: relative includes across parts (above)" >&2
  bad=1
fi
defined() { nm --defined-only "$@" 2>/dev/null | awk 'NF == 3 && $2 ~ /[TDBRVW]/ { print $3 }' | sort -u; }
undef() { nm -u "$1" | awk '{ print $NF }' | sort -u; }
for lib in engine common; do
  [ -f "$O/libprecis_$lib.a" ] || { echo "check-layers: $O/libprecis_$lib.a missing" >&2; exit 1; }
done
# the engine: no wire library, no protobuf
x=$( { comm -12 <(undef "$O/libprecis_engine.a") <(defined "$O/libprecis_wire.a");
       undef "$O/libprecis_engine.a" | grep '^protobuf_c_' || true; } )
if [ -n "$x" ]; then
  echo "check-layers: libprecis_engine.a uses the wire layer:" >&2
  sed 's/^/  /' <<<"$x" >&2
  bad=1
fi
# common: below everything
x=$(comm -12 <(undef "$O/libprecis_common.a") \
      <(defined "$O/libprecis_engine.a" "$O/libprecis_wire.a" "$O/libprecis.a" | sort -u |
        comm -23 - <(defined "$O/libprecis_common.a")))
if [ -n "$x" ]; then
  echo "check-layers: libprecis_common.a uses other Precis libraries:" >&2
  sed 's/^/  /' <<<"$x" >&2
  bad=1
fi
[ "$bad" = 0 ] && echo "check-layers: engine independent of the wire layer, common below everything"
exit $bad
