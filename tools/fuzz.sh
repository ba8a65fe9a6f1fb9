#!/usr/bin/env bash
# Runs every fuzz target (tests/fuzz/) under libFuzzer for SECONDS each
# (default 60), one after the other, starting from its seed corpus
# (tests/fuzz/corpus/<target>/) and from what earlier runs found
# (build/fuzz/corpus/<target>/, kept between runs, never committed). Builds
# the `fuzz` preset first (clang 14, -fsanitize=fuzzer,address,undefined;
# only the fuzz targets and the libraries they link).
#
#   tools/fuzz.sh [SECONDS] [TARGET...]      e.g. tools/fuzz.sh 600 setters
#
# A crash, a leak, undefined behaviour, a failed property or an input slower
# than 10 s is saved as build/fuzz/crashes/<target>/crash-<sha1> (or leak-,
# timeout-, oom-) and the script fails, naming the files: to keep one as a
# regression case, fix the parser and copy the file into
# tests/fuzz/corpus/<target>/. Each run appends a line to
# build/fuzz/fuzz-runs.log (date, target, seconds run, executions, result).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for dir in tests/fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi

tools/setup.sh --preset fuzz

build=build/fuzz
mkdir -p "$build/corpus" "$build/crashes"
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

failed=()
for target in "${targets[@]}"; do
  binary="$build/tests/fuzz/fuzz_$target"
  if [ ! -x "$binary" ] || [ ! -d "tests/fuzz/corpus/$target" ]; then
    echo "fuzz.sh: no fuzz target $target (see tests/fuzz/)" >&2
    exit 2
  fi
  work="$build/corpus/$target"
  crashes="$build/crashes/$target"
  mkdir -p "$work" "$crashes"
  log="$build/fuzz-$target.log"
  echo "fuzz.sh: $target for ${seconds}s"
  result=ok
  start=$SECONDS
  # New inputs go to $work (the first corpus directory); the seeds are read.
  if ! "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" \
      "$work" "tests/fuzz/corpus/$target" >"$log" 2>&1; then
    result=failed
    failed+=("$target")
    grep -E "^==[0-9]+==ERROR|SUMMARY|fuzz property failed|runtime error" "$log" |
      head -5 >&2 || true
    echo "fuzz.sh: $target failed; input saved in $crashes/, log in $log" >&2
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  echo "$(date -u +%FT%TZ) $target $((SECONDS - start))s ${runs:-0} executions $result" |
    tee -a "$build/fuzz-runs.log"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]}; inputs:" >&2
  for target in "${failed[@]}"; do ls "$build/crashes/$target"/* >&2 || true; done
  exit 1
fi
