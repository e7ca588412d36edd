#!/usr/bin/env bash
# deps.sh: install, with apt-get, the Debian 12 packages Precis needs that are
# missing. Idempotent: does nothing (and needs no root) when all are present.
set -euo pipefail
pkgs=(
  build-essential g++ make pkg-config
  libfaiss-dev libopenblas-dev liblapack-dev libomp-dev
  librocksdb-dev liburing-dev libprotobuf-c-dev protobuf-c-compiler
  libcriterion-dev libjansson-dev libhnswlib-dev
  python3 npm wordnet-base
  libroaring-dev
  clang-format
)
# issue 15: the Python client (protoc generates its protobuf module; pytest
# runs its tests; numpy is its optional fast path) and the metrics endpoint
# (libmicrohttpd; promtool from prometheus checks the exposition format)
pkgs+=(
  protobuf-compiler python3-protobuf python3-pytest python3-numpy
  libmicrohttpd-dev prometheus
)
# issue 13: Debian's nodejs runs LangChain.js's MMR beside Precis in
# `precis-bench select` (scripts/fetch-langchain.sh fetches the package)
pkgs+=(nodejs)
missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # npm may come from elsewhere (nodejs bundles); accept a working binary
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
    if [ "$p" = python3 ] && command -v python3 >/dev/null 2>&1; then continue; fi
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
