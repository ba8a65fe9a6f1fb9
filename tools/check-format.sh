#!/usr/bin/env bash
# Fails (naming the files) when a C++ source of the project differs from
# what clang-format 14 makes of it with the project's .clang-format. Run by
# ctest (style.clang_format); fix with:
#
#   tools/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."

format=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$format" ]; then
  echo "check-format.sh: clang-format not found (tools/setup.sh installs it)" >&2
  exit 2
fi
if ! "$format" --version | grep -q 'version 14\.'; then
  echo "check-format.sh: $format is not clang-format 14; other versions format differently" >&2
  exit 2
fi

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cc' '*.h')
else
  mapfile -t files < <(find common services tools tests -name '*.cc' -o -name '*.h' | sort)
fi

if [ "${1:-}" = "--fix" ]; then
  "$format" -i "${files[@]}"
  exit 0
fi

bad=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  "$format" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "not clang-formatted (run tools/check-format.sh --fix):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "${#files[@]} files clang-formatted"
