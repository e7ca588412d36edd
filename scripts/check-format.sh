#!/usr/bin/env bash
# check-format.sh [--fix]: every tracked C and C++ source follows
# .clang-format (Debian 12's clang-format 14). Prints the files that do not
# and exits 1; --fix rewrites them instead (`make format`).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check-format: clang-format missing (scripts/deps.sh installs it)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.c' '*.h' '*.cpp' '*.cc' 2>/dev/null | grep -v '^fuzz/corpus/' || true)
[ "${#files[@]}" -gt 0 ] || { echo "check-format: no sources found (not a git checkout?)" >&2; exit 1; }
if [ "${1:-}" = --fix ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ "${#bad[@]}" -gt 0 ]; then
  echo "check-format: not formatted per .clang-format (make format fixes):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files follow .clang-format"
