#!/usr/bin/env bash
# bench/plot.sh STUDY DIR: draws DIR/STUDY.png from DIR/STUDY.tsv (written by
# `precis-bench STUDY --out DIR`) with gnuplot. Exit 3 when gnuplot is
# missing (apt-get install -y gnuplot-nox), 2 on usage, 1 on other errors.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: bench/plot.sh quality|ingest|ann DIR" >&2
  exit 2
fi
study=$1 dir=$2
command -v gnuplot >/dev/null 2>&1 || exit 3
tsv="$dir/$study.tsv"
png="$dir/$study.png"
[ -r "$tsv" ] || { echo "plot.sh: $tsv missing" >&2; exit 1; }
title=$(sed -n 's/^# title: //p' "$tsv" | head -1)

case "$study" in
quality)
  # columns: graph family param sim_pct categories coverage redundancy
  curve() { # graph family column style title
    printf '"%s" using (strcol(1) eq "%s" && strcol(2) eq "%s" ? $4 : 1/0):%s with linespoints %s title "%s"' \
      "$tsv" "$1" "$2" "$3" "$4" "$5"
  }
  panel() { # column
    local c=$1
    echo "plot $(curve none MMR "$c" 'pt 7 lc rgb "#1f77b4"' 'MMR (lambda .3-.9), hops 0'), \\"
    echo "  $(curve none COMPRESS "$c" 'pt 5 lc rgb "#d62728"' 'COMPRESS (theta .5-4), hops 0'), \\"
    echo "  $(curve knn-1 MMR "$c" 'pt 6 dt 2 lc rgb "#1f77b4"' 'MMR, hops 1 over kNN'), \\"
    echo "  $(curve knn-1 COMPRESS "$c" 'pt 4 dt 2 lc rgb "#d62728"' 'COMPRESS, hops 1 over kNN'), \\"
    echo "  $(curve isa-1 MMR "$c" 'pt 8 dt 3 lc rgb "#1f77b4"' 'MMR, hops 1 over is_a'), \\"
    echo "  $(curve isa-1 COMPRESS "$c" 'pt 10 dt 3 lc rgb "#d62728"' 'COMPRESS, hops 1 over is_a'), \\"
    echo "  \"$tsv\" using (strcol(2) eq \"TOPK\" && (strcol(1) eq \"none\" || strcol(1) eq \"knn-1\" || strcol(1) eq \"isa-1\") ? \$4 : 1/0):$c:(\"TOPK \".strcol(1)) with labels point pt 9 ps 1.5 lc rgb \"black\" offset 0.5,0.6 left notitle"
  }
  gnuplot <<GP
set terminal pngcairo size 1500,600 font ",10" noenhanced
set output "$png"
set datafile separator "\t"
set multiplot layout 1,2 title "quality: relevance vs diversity / coverage, k 10 ($title)"
set grid
set key bottom left
set offsets 0, 6, 0, 0
set xlabel "mean similarity to the query, % of TOPK (hops 0)"
set ylabel "distinct categories in top 10"
$(panel 5)
set ylabel "coverage of the exact top-100 (relevance-weighted)"
$(panel 6)
unset multiplot
GP
  ;;
ingest)
  # columns: what points_per_s
  gnuplot <<GP
set terminal pngcairo size 900,480 font ",10" noenhanced
set output "$png"
set datafile separator "\t"
set title "ingest: points per second ($title)"
set style fill solid 0.8
set boxwidth 0.6
set grid ytics
set ylabel "points/s"
set yrange [0:*]
set xtics rotate by -20
plot "$tsv" using 0:2:xtic(1) with boxes lc rgb "#1f77b4" notitle, \
     "" using 0:2:(sprintf("%.0f", \$2)) with labels offset 0,0.7 notitle
GP
  ;;
ann)
  # columns: series ef recall qps
  series=$(grep -v '^#' "$tsv" | cut -f1 | awk '!seen[$0]++')
  plots=""
  i=0
  while IFS= read -r s; do
    [ -n "$s" ] || continue
    sep=$([ $i -gt 0 ] && echo ", " || true)
    plots="$plots$sep\"$tsv\" using (strcol(1) eq \"$s\" ? \$3 : 1/0):4 with linespoints pt $((i % 6 + 4)) title \"$s\""
    i=$((i + 1))
  done <<< "$series"
  gnuplot <<GP
set terminal pngcairo size 900,600 font ",10" noenhanced
set output "$png"
set datafile separator "\t"
set title "ann: recall@10 vs queries/s, one query at a time ($title)"
set grid
set logscale y
set key bottom left
set xlabel "recall@10"
set ylabel "queries/s (log)"
plot $plots
GP
  ;;
*)
  echo "plot.sh: unknown study $study" >&2
  exit 2
  ;;
esac
