#!/usr/bin/env bash
# run-tests.sh BUILD_DIR: run every Criterion test binary under BUILD_DIR/tests,
# each in its own process, and print one closing line "N passed, N failed".
# Environment: PRECIS_TEST_FILTER=glob narrows the binaries; PRECIS_VALGRIND=1
# runs the unit tests under valgrind memcheck (leaks are errors),
# PRECIS_VALGRIND=all the integration test processes too (precisd, sh and rm
# run natively). Criterion runs each test in a re-executed worker process and
# ignores the worker's exit status, so the children are traced, each writes
# its own log to BUILD_DIR/valgrind/<binary>/, and the logs are checked here.
set -u
O=${1:-build}
cd "$(dirname "$0")/.."
pass=0 fail=0 bins=0 failed_bins=()
for t in "$O"/tests/unit/test_* "$O"/tests/integration/test_*; do
  [ -x "$t" ] && [ -f "$t" ] || continue
  case "$t" in *.o|*.d) continue ;; esac
  if [ -n "${PRECIS_TEST_FILTER:-}" ]; then
    case "$(basename "$t")" in ${PRECIS_TEST_FILTER}) ;; *) continue ;; esac
  fi
  bins=$((bins + 1))
  echo "== $(basename "$t")"
  log=$(mktemp)
  vg=${PRECIS_VALGRIND:-0}
  if [ "$vg" = all ] || { [ "$vg" = 1 ] && [[ "$t" == */unit/* ]]; }; then
    vgdir=$O/valgrind/$(basename "$t")
    rm -rf "$vgdir" && mkdir -p "$vgdir"
    OMP_NUM_THREADS=1 valgrind --trace-children=yes --trace-children-skip='*/precisd,/bin/*,/usr/bin/*' \
      --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
      --error-exitcode=99 --num-callers=40 --suppressions=tests/valgrind.supp \
      --log-file="$vgdir/vg.%p.log" "$t" --jobs 1 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    bad=$(grep -l 'ERROR SUMMARY: [1-9]' "$vgdir"/vg.*.log) # a SIGKILLed child writes no summary
    if [ -n "$bad" ]; then
      for f in $bad; do echo "---- $f"; cat "$f"; done
      [ "$rc" -eq 0 ] && rc=99
    fi
  else
    "$t" --jobs 2 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
  fi
  line=$(grep -E 'Synthesis: Tested: [0-9]+' "$log" | tail -n1)
  p=$(sed -nE 's/.*Passing: ([0-9]+).*/\1/p' <<<"$line")
  f=$(sed -nE 's/.*Failing: ([0-9]+).*/\1/p' <<<"$line")
  c=$(sed -nE 's/.*Crashing: ([0-9]+).*/\1/p' <<<"$line")
  pass=$((pass + ${p:-0}))
  fail=$((fail + ${f:-0} + ${c:-0}))
  if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    failed_bins+=("$(basename "$t") (exit $rc)")
    [ -z "$line" ] && fail=$((fail + 1))
  fi
  rm -f "$log"
done

# Python tests (client/python/tests, pytest against a real precisd, and
# scripts/tests, the corpus preparation): counted as the pseudo-binary test_python; skipped under valgrind and when
# the package was not built (no protoc) or python3-pytest is missing.
if [ -d client/python/tests ] && [ "${PRECIS_VALGRIND:-0}" = 0 ] &&
   { [ -z "${PRECIS_TEST_FILTER:-}" ] || [[ test_python == ${PRECIS_TEST_FILTER} ]]; }; then
  py=/usr/bin/python3; [ -x "$py" ] || py=python3
  if [ -f "$O/python/precis/precis_pb2.py" ] && "$py" -c 'import pytest, google.protobuf' 2>/dev/null; then
    bins=$((bins + 1))
    echo "== test_python"
    log=$(mktemp)
    PRECIS_BUILD_DIR=$O "$py" -m pytest -q -p no:cacheprovider client/python/tests scripts/tests 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '[0-9]+ (passed|failed|errors?)( |,|$)' "$log" | tail -n1)
    p=$(sed -nE 's/(^|.*[^0-9])([0-9]+) passed.*/\2/p' <<<"$line")
    f=$(sed -nE 's/(^|.*[^0-9])([0-9]+) failed.*/\2/p' <<<"$line")
    e=$(sed -nE 's/(^|.*[^0-9])([0-9]+) errors?.*/\2/p' <<<"$line")
    pass=$((pass + ${p:-0}))
    fail=$((fail + ${f:-0} + ${e:-0}))
    if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
      failed_bins+=("test_python (exit $rc)")
      [ -z "$line" ] && fail=$((fail + 1))
    fi
    rm -f "$log"
  else
    echo "== test_python skipped: $O/python not built (protoc) or python3-pytest/python3-protobuf missing"
  fi
fi
echo
[ ${#failed_bins[@]} -gt 0 ] && printf 'failed: %s\n' "${failed_bins[@]}"
if [ "$bins" -eq 0 ]; then echo "no test binaries under $O/tests" >&2; exit 1; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ ${#failed_bins[@]} -eq 0 ]
