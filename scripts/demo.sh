#!/usr/bin/env bash
# demo.sh BUILD_DIR: the `make demo` walk-through. Starts precisd on a
# throw-away data directory, ingests the WordNet corpus (117k synsets, their
# GloVe-averaged vectors and is_a links) through `precis ingest`, and for a few
# text queries prints TOPK beside COMPRESS, then a graph-expanded COMPRESS,
# with each item's category, relevance and what it stands for. Stops the
# server and removes the directory on exit.
set -euo pipefail
O=${1:-build}
cd "$(dirname "$0")/.."
PRECIS="$O/precis"
WN=${PRECIS_DEMO_SET:-wordnet}
DATA=${PRECIS_DATA_DIR:-data} # where fetch-data.sh puts it

echo "== preparing data (cached after the first run)"
scripts/fetch-data.sh "$WN" glove-vectors

tmp=$(mktemp -d "${TMPDIR:-/tmp}/precis-demo-XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== starting precisd on $tmp/data"
"$O/precisd" --data-dir "$tmp/data" --port 0 --port-file "$tmp/port" --log-level warn 2>"$tmp/precisd.log" &
pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "precisd did not start:"; cat "$tmp/precisd.log"; exit 1; }
P=(--port "$(cat "$tmp/port")")
"$PRECIS" "${P[@]}" health

echo "== loading WordNet ($WN): points and is_a links, then the kNN graph in one rebuild (--bulk)"
"$PRECIS" "${P[@]}" collection create wordnet --dim 100 --metric cosine
"$PRECIS" "${P[@]}" --timeout 0 ingest wordnet "$DATA/$WN/corpus.jsonl" --batch 2000 --bulk
"$PRECIS" "${P[@]}" collection describe wordnet

queries=(
  "the color of the sky"
  "a storm with strong wind"
  "a hot drink"
  "a sweet food made from sugar"
  "the study of the stars"
)
for q in "${queries[@]}"; do
  python3 scripts/embed.py --glove "$DATA/glove" "$q" > "$tmp/q.txt"
  echo
  echo "################ query: \"$q\""
  echo "---- plain top-k beside COMPRESS (hops 0): distinct categories and redundancy"
  "$PRECIS" "${P[@]}" query wordnet --vector-file "$tmp/q.txt" -k 8 --compare --show-field category
  echo "---- plain top-k beside COMPRESS after 1 hop over is_a links ('+': top-k missed it)"
  "$PRECIS" "${P[@]}" query wordnet --vector-file "$tmp/q.txt" -k 8 --compare --hops 1 --links is_a \
    --show-field category
  if [ "$q" = "${queries[0]}" ]; then
    echo "---- plain top-k beside COMPRESS with at most 2 items per category (--group-by)"
    "$PRECIS" "${P[@]}" query wordnet --vector-file "$tmp/q.txt" -k 8 --compare \
      --group-by category --group-limit 2 --show-field category
  fi
done
echo
echo "== stopping precisd"
kill -TERM "$pid"
wait "$pid" && echo "precisd exited cleanly"
pid=""
