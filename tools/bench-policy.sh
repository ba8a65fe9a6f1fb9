#!/usr/bin/env bash
# Semver selection over 1,000,000 tags: ns per tag of ours (policy_bench,
# tests/bench/) against semver-ref (Masterminds/semver, the library Flux
# uses) on the same tags, in the same run; then the other policy_bench
# benchmarks (alphabetical, numerical, filterTags+extract).
#
#   tools/bench-policy.sh [RANGE ...]     default: the three ranges below
#
# Environment:
#   SEMVER_REF_SRC  semver-ref's sources (default: ../shared/tools/semver-ref
#                   beside the repository)
#   SEMVER_REF      a semver-ref binary to use instead of building one
#   BUILD_DIR       the CMake build folder (default build/dev)
#   BENCH_N         how many selections semver-ref repeats (default 5)
#   BENCH_DIR       where the tag file and semver-ref go (default
#                   $TMPDIR/ia-bench-policy)
#
# semver-ref's time is measured from outside: a run with -bench 1+N minus a
# run with -bench 1 (process start, reading and splitting the tags, and one
# selection cancel out), divided by N and the number of tags. Both must
# select the same tag; the script fails when they do not.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

build_dir=${BUILD_DIR:-build/dev}
bench_n=${BENCH_N:-5}
work=${BENCH_DIR:-${TMPDIR:-/tmp}/ia-bench-policy}
src=${SEMVER_REF_SRC:-$repo/../shared/tools/semver-ref}
if [ $# -gt 0 ]; then
  ranges=("$@")
else
  ranges=(">=1.0.0 <2.0.0" "^1.2" "~1.2.3 || >=3.0.0-rc.1")
fi
mkdir -p "$work"

# Debian packages: Go and Masterminds/semver for semver-ref, jq for the
# benchmark's JSON. Only the missing ones, as tools/setup.sh does.
missing=()
for p in golang-go golang-github-masterminds-semver-dev jq; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench-policy.sh: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Ours.
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake --preset dev -B "$build_dir" >/dev/null
fi
cmake --build "$build_dir" -j "${IA_BUILD_JOBS:-2}" --target policy_bench >&2
bench="$build_dir/tests/bench/policy_bench"

# The reference.
ref=${SEMVER_REF:-$work/semver-ref}
if [ ! -x "$ref" ]; then
  if [ ! -x "$src/build.sh" ]; then
    echo "bench-policy.sh: semver-ref sources not found at $src" >&2
    echo "  (set SEMVER_REF_SRC to the folder with build.sh and main.go, or SEMVER_REF to a built semver-ref)" >&2
    exit 2
  fi
  "$src/build.sh" "$ref" >/dev/null
fi

tags="$work/tags.txt"
"$bench" --write_tags="$tags"
count=$(wc -l <"$tags")

# Runs semver-ref with -bench $1 over the tags; prints the wall-clock and
# CPU (user + system) seconds, then the answer.
time_ref() {
  local out real user sys TIMEFORMAT='%3R %3U %3S'
  { time out=$("$ref" -bench "$1" -- "$2" <"$tags"); } 2>"$work/time.txt"
  read -r real user sys <"$work/time.txt"
  echo "$real $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $out"
}

# Ours, all semver ranges in one run (console output shown as is).
args=()
for r in "${ranges[@]}"; do args+=("--range=$r"); done
json="$work/policy_bench.json"
"$bench" "${args[@]}" --benchmark_out="$json" --benchmark_out_format=json

# ns per tag from seconds: (t - b) / n / tags.
per_tag() { awk -v t="$1" -v b="$2" -v n="$3" -v c="$count" 'BEGIN { printf "%.1f", (t - b) * 1e9 / n / c }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }

printf '\n%s tags; ns per tag, wall clock (CPU); semver-ref repeats %s selections\n' "$count" "$bench_n"
printf '%-26s %16s %18s %14s   %s\n' "semver range" "ours" "semver-ref" "ratio" "selected (ours | semver-ref)"
status=0
for r in "${ranges[@]}"; do
  # Seconds per iteration (one selection over all tags).
  read -r ours_wall ours_cpu < <(jq -r --arg n "Semver/$r" '.benchmarks[] | select(.name == $n)
    | ({"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1}[.time_unit]) as $u
    | "\(.real_time * $u) \(.cpu_time * $u)"' "$json")
  ours_wall=$(per_tag "$ours_wall" 0 1)
  ours_cpu=$(per_tag "$ours_cpu" 0 1)
  ours_tag=$("$bench" --select="$r" || true)
  read -r base_wall base_cpu _ < <(time_ref 1 "$r")
  read -r full_wall full_cpu ref_tag < <(time_ref $((bench_n + 1)) "$r")
  ref_wall=$(per_tag "$full_wall" "$base_wall" "$bench_n")
  ref_cpu=$(per_tag "$full_cpu" "$base_cpu" "$bench_n")
  printf '%-26s %16s %18s %14s   %s | %s\n' "$r" "$ours_wall ($ours_cpu)" \
    "$ref_wall ($ref_cpu)" "$(ratio "$ref_wall" "$ours_wall") ($(ratio "$ref_cpu" "$ours_cpu"))" \
    "$ours_tag" "$ref_tag"
  if [ "$ours_tag" != "$ref_tag" ]; then
    echo "bench-policy.sh: range \"$r\": ours selected \"$ours_tag\", semver-ref \"$ref_tag\"" >&2
    status=1
  fi
done
exit $status
