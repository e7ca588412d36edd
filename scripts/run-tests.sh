#!/usr/bin/env bash
# run-tests.sh BUILD_DIR: run every Criterion test binary under BUILD_DIR/tests,
# each in its own process, and print one closing line "N passed, N failed".
# Environment: PRECIS_TEST_FILTER=glob narrows the binaries; PRECIS_VALGRIND=1
# runs the unit tests under valgrind memcheck (leaks are errors).
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
  if [ "${PRECIS_VALGRIND:-0}" = 1 ] && [[ "$t" == */unit/* ]]; then
    valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
      --suppressions=tests/valgrind.supp "$t" --jobs 1 --no-early-exit 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
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
echo
[ ${#failed_bins[@]} -gt 0 ] && printf 'failed: %s\n' "${failed_bins[@]}"
if [ "$bins" -eq 0 ]; then echo "no test binaries under $O/tests" >&2; exit 1; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ ${#failed_bins[@]} -eq 0 ]
