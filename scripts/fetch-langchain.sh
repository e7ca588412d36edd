#!/usr/bin/env bash
# fetch-langchain.sh: fetch LangChain.js's @langchain/core at a pinned version
# for `precis-bench select` (its LangChain.js MMR route, bench/langchain_mmr.cjs).
#
# `npm pack` downloads the tarball from the npm registry; it is checked
# against npm's own integrity hash (sha512, pinned below) and unpacked into
# $PRECIS_LANGCHAIN_DIR (default .deps/langchain)/node_modules/@langchain/core,
# which is never committed (.gitignore: /.deps/, node_modules/). The route
# loads only `@langchain/core/utils/math`, whose code imports nothing outside
# the package (checked below), so the package's own dependencies (langsmith,
# zod, ...) are not installed. Idempotent: does nothing when the pinned
# version is already in place. Needs node, npm and tar; exits 1 with a
# message when the registry cannot be reached.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${PRECIS_LANGCHAIN_DIR:-$ROOT/.deps/langchain}

# ---- pinned: 1.4.0, the version issue 13 measured (newest 1.x on 2026-11-30) ----
LC_SPEC=@langchain/core@1.4.0
LC_TGZ=langchain-core-1.4.0.tgz
LC_INTEGRITY=sha512-4FLE0OoPu4hFFcGX4ep3o/BWTXVcE0hQroxB9z3PzWKqZV9+WAqlqmH30We6YUFMMc/1Vzkfa/q+PTioaAkoDw==

die() {
  echo "fetch-langchain: $*" >&2
  exit 1
}

PKG=$DIR/node_modules/@langchain/core
STAMP=$DIR/.stamp
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$LC_SPEC $LC_INTEGRITY" ] && [ -f "$PKG/package.json" ]; then
  exit 0
fi
command -v npm >/dev/null || die "npm not found (scripts/deps.sh installs it)"
mkdir -p "$DIR"
tmp=$(mktemp -d "$DIR/.pack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "fetch-langchain: downloading $LC_SPEC with npm pack" >&2
npm pack --ignore-scripts --loglevel=error --pack-destination "$tmp" "$LC_SPEC" >/dev/null ||
  die "npm pack $LC_SPEC failed (is the npm registry reachable?)"
[ -f "$tmp/$LC_TGZ" ] || die "npm pack $LC_SPEC did not produce $LC_TGZ"
# npm's integrity string, computed by node itself (the route needs node anyway)
command -v node >/dev/null || die "node not found (scripts/deps.sh installs nodejs)"
got=$(node -e 'const c=require("crypto"),f=require("fs");
process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$tmp/$LC_TGZ") ||
  die "cannot hash $LC_TGZ"
[ "$got" = "$LC_INTEGRITY" ] || die "integrity mismatch for $LC_SPEC: got $got, expected $LC_INTEGRITY"
mkdir -p "$tmp/x"
tar -xzf "$tmp/$LC_TGZ" -C "$tmp/x"
# utils/math must not import anything outside the package (no dependencies installed)
if grep -hoE "(from|require\()\s*[\"'][^\"'.][^\"']*[\"']" "$tmp"/x/package/dist/utils/math.cjs \
  "$tmp"/x/package/dist/utils/ml-distance*/*.cjs 2>/dev/null | grep -q .; then
  die "$LC_SPEC: utils/math imports another package; install it with its dependencies"
fi
rm -rf "$PKG"
mkdir -p "$(dirname "$PKG")"
mv "$tmp/x/package" "$PKG"
echo "$LC_SPEC $LC_INTEGRITY" >"$STAMP"
echo "fetch-langchain: $LC_SPEC in $PKG (integrity ok)" >&2
