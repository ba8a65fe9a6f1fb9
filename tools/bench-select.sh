#!/usr/bin/env bash
# `imagectl select` as a whole process (start, reading 1,000,000 tags from
# stdin, the selection, the answer) against semver-ref (Masterminds/semver,
# what Flux uses) doing the same with -bench 1, on the same tag file, in the
# same run. Runs alternate; BENCH_RUNS of each; prints every run's wall-clock
# seconds and the spread of the ratio. Both must select the same tag.
#
#   tools/bench-select.sh [RANGE]      default: '>=1.0.0 <2.0.0'
#
# Environment: as tools/bench-policy.sh (SEMVER_REF_SRC, SEMVER_REF,
# BUILD_DIR, BENCH_DIR), and BENCH_RUNS (default 5). Goal: >= 20x.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

build_dir=${BUILD_DIR:-build/dev}
runs=${BENCH_RUNS:-5}
work=${BENCH_DIR:-${TMPDIR:-/tmp}/ia-bench-select}
src=${SEMVER_REF_SRC:-$repo/../shared/tools/semver-ref}
range=${1:->=1.0.0 <2.0.0}
mkdir -p "$work"

if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake --preset dev -B "$build_dir" >/dev/null
fi
cmake --build "$build_dir" -j "${IA_BUILD_JOBS:-2}" --target policy_bench imagectl >&2
imagectl="$build_dir/tools/imagectl/imagectl"

ref=${SEMVER_REF:-$work/semver-ref}
if [ ! -x "$ref" ]; then
  if [ ! -x "$src/build.sh" ]; then
    echo "bench-select.sh: semver-ref sources not found at $src (set SEMVER_REF_SRC or SEMVER_REF)" >&2
    exit 2
  fi
  "$src/build.sh" "$ref" >/dev/null
fi

tags="$work/tags.txt"
"$build_dir/tests/bench/policy_bench" --write_tags="$tags"
cat "$tags" >/dev/null  # warm the page cache

# Runs "$@" with stdin from the tag file: wall-clock seconds in $secs, the
# answer in $answer.
timed() {
  local t0 t1
  t0=$EPOCHREALTIME
  answer=$("$@" <"$tags")
  t1=$EPOCHREALTIME
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

printf '%s tags, range "%s"; wall-clock seconds per process\n' "$(wc -l <"$tags")" "$range"
printf '%4s %10s %10s %12s %8s %8s\n' run semver-ref imagectl "(alpha asc)" ratio "(alpha)"
ratios=() aratios=()
for ((r = 1; r <= runs; r++)); do
  timed "$ref" -bench 1 -- "$range"
  t_ref=$secs a_ref=$answer
  timed "$imagectl" select --select-semver="$range"
  t_ours=$secs a_ours=$answer
  timed "$imagectl" select --select-alpha=asc
  t_alpha=$secs
  if [ "$a_ref" != "$a_ours" ]; then
    echo "bench-select.sh: imagectl selected \"$a_ours\", semver-ref \"$a_ref\"" >&2
    exit 1
  fi
  ratio=$(awk -v a="$t_ref" -v b="$t_ours" 'BEGIN { printf "%.1f", a / b }')
  aratio=$(awk -v a="$t_ref" -v b="$t_alpha" 'BEGIN { printf "%.1f", a / b }')
  ratios+=("$ratio") aratios+=("$aratio")
  printf '%4s %10s %10s %12s %7sx %7sx\n' "$r" "$t_ref" "$t_ours" "$t_alpha" "$ratio" "$aratio"
done
spread() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd- ; }
printf 'semver-ref / imagectl select: %sx (alpha: %sx); goal >= 20x; both selected %s\n' \
  "$(spread "${ratios[@]}")" "$(spread "${aratios[@]}")" "$a_ours"
