#!/usr/bin/env bash
# The automation benchmarks of issue 5, each against its reference in the
# same run:
#
# 1. Rewrite: ComputeSetterUpdates + WriteSetterUpdates over a generated tree
#    of 10,000 manifests (1,000 with markers, every marker changed) against
#    `grep -rl '$imagepolicy' TREE` over the same tree, page cache warm
#    (automation_bench's Rewrite, RewriteDurable, Compute and GrepRl,
#    interleaved, medians of BENCH_RUNS repetitions). Rewrite writes as the
#    automation service does (in place, no fsync: nothing else reads its
#    worktree during a run, and every run starts with a forced checkout, which
#    repairs a file a crash left half written), RewriteAtomic as it did
#    before (a new file renamed over each, no fsync), RewriteDurable as
#    imagectl rewrite does (atomic, on disk before it returns). Goals (issue
#    16): the service within 1.5x of grep, imagectl within 3x.
# 2. One automation run on a repository of 10,000 files and 1,000 commits
#    (made with git fast-import): ours (OpenGitCheckout on a persistent clone
#    + UpdateBranch: fetch, checkout, the setter rewrite in-process, commit,
#    push, over file://) against the git CLI in its own persistent clone
#    (git fetch, git reset --hard origin/main, `imagectl rewrite`, git commit
#    -a, git push). Before every timed run the remote is restored to the same
#    state (one new commit from another clone, so the fetch has work) and
#    the clone is put back as it was before (refs, objects, index, worktree),
#    then one second passes so no index entry is racily clean. Runs of ours
#    and git alternate; one warm-up run of each is not counted. Goal: no
#    slower than git. Both must push the same tree; the script fails if not.
#
#   tools/bench-automation.sh [rewrite|git|all]     default: all
#
# Environment:
#   BUILD_DIR   the CMake build folder (default build/dev)
#   BENCH_RUNS  repetitions / timed runs of each side (default 5)
#   BENCH_DIR   where the tree, the repositories and the results go
#               (default $TMPDIR/ia-bench-automation; emptied first)
#   BENCH_SKIP_BUILD  set: use the binaries already in BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
case "$what" in rewrite|git|all) ;; *) echo "usage: $0 [rewrite|git|all]" >&2; exit 2 ;; esac
build_dir=${BUILD_DIR:-build/dev}
runs=${BENCH_RUNS:-5}
work=${BENCH_DIR:-${TMPDIR:-/tmp}/ia-bench-automation}
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

for tool in git grep jq tar; do
  command -v "$tool" >/dev/null || { echo "bench-automation.sh: $tool is needed" >&2; exit 2; }
done
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake --preset dev -B "$build_dir" >/dev/null
fi
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  cmake --build "$build_dir" -j "${IA_BUILD_JOBS:-2}" --target automation_bench imagectl >&2
fi
bench=$(cd "$build_dir" && pwd)/tests/bench/automation_bench
imagectl=$(cd "$build_dir" && pwd)/tools/imagectl/imagectl

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) printf "%.1f", v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# Milliseconds between two $EPOCHREALTIME values.
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }

# --- 1. Rewrite against grep -------------------------------------------------
if [ "$what" != git ]; then
  tree="$work/tree"
  "$bench" --write_tree="$tree"
  files=$(find "$tree" -type f | wc -l)
  marked=$(grep -rl '$imagepolicy' "$tree" | wc -l)
  bytes=$(du -sb "$tree" | cut -f1)
  find "$tree" -type f -exec cat {} + >/dev/null  # warm the page cache
  echo "== rewrite: $files files ($((bytes / 1024 / 1024)) MiB), $marked with markers" >&2
  # imagectl's durable runs go apart, after the rest: their syncs pull the
  # inode tables into the buffer cache, after which ext4 without a journal
  # skips every inode deleted in the last minutes when it makes a new one
  # (recently_deleted()), and the runs after them would pay for that.
  json="$work/rewrite.json"
  json_durable="$work/rewrite-durable.json"
  "$bench" --tree="$tree" --benchmark_filter='^(Rewrite|RewriteAtomic|Compute|GrepRl)/' \
    --benchmark_repetitions="$runs" --benchmark_enable_random_interleaving=true \
    --benchmark_out="$json" --benchmark_out_format=json >&2
  "$bench" --tree="$tree" --benchmark_filter='^RewriteDurable/' \
    --benchmark_repetitions="$runs" \
    --benchmark_out="$json_durable" --benchmark_out_format=json >&2
  # Median wall-clock ms and CPU ms of a benchmark (grep's CPU is its own,
  # from the child_cpu_ms counter).
  # With BENCH_RUNS=1 there is no median: the one run is it.
  get() {
    jq -r --arg n "$1/real_time" '[.benchmarks[] | select(.name == $n + "_median")]
      + [.benchmarks[] | select(.name == $n)] | first
      | "\(.real_time) \(.child_cpu_ms // .cpu_time)"' "${2:-$json}"
  }
  read -r rewrite rewrite_cpu < <(get Rewrite)
  read -r atomic atomic_cpu < <(get RewriteAtomic)
  read -r durable durable_cpu < <(get RewriteDurable "$json_durable")
  read -r compute compute_cpu < <(get Compute)
  read -r grep_ms grep_cpu < <(get GrepRl)
  printf '\nRewrite of %s files (%s with markers, every marker changed), ms, median of %s:\n' \
    "$files" "$marked" "$runs"
  printf '  %-50s %9s %9s %9s\n' "" "wall" "CPU" "wall/grep"
  row() { printf '  %-50s %9.1f %9.1f %8sx\n' "$1" "$2" "$3" "$(ratio "$2" "$grep_ms")"; }
  row "ours (automation): compute + in-place writes" "$rewrite" "$rewrite_cpu"
  row "  the same with atomic writes (before)" "$atomic" "$atomic_cpu"
  row "  ComputeSetterUpdates alone (no writing)" "$compute" "$compute_cpu"
  row "imagectl rewrite: compute + durable writes" "$durable" "$durable_cpu"
  row "grep -rl '\$imagepolicy' TREE" "$grep_ms" "$grep_cpu"
  printf '  goals: the automation within 1.5x of grep, imagectl within 3x\n'
fi

# --- 2. One automation run against the git CLI --------------------------------
if [ "$what" != rewrite ]; then
  export GIT_CONFIG_NOSYSTEM=1 HOME="$work/home"
  mkdir -p "$HOME"
  git config --global user.name "Bench"
  git config --global user.email "bench@example.com"
  git config --global init.defaultBranch main
  bare="$work/remote.git"
  url="file://$bare"
  echo "== git: making a repository of 1,000 commits (git fast-import)" >&2
  "$bench" --write_fast_import="$work/history.fi"
  git init -q --bare "$bare"
  git -C "$bare" symbolic-ref HEAD refs/heads/main
  git -C "$bare" fast-import --quiet <"$work/history.fi"
  git -C "$bare" repack -adq
  echo "   $(git -C "$bare" rev-list --count main) commits, $(git -C "$bare" ls-tree -r main | wc -l) files" >&2

  # The persistent clones, made once.
  "$bench" --git_clone --clone="$work/ours" --url="$url" >/dev/null 2>"$work/ours-clone.log"
  git clone -q "$url" "$work/gitcli"
  # Another clone pushes a commit, so the runs' fetch has work.
  git clone -q "$url" "$work/other"
  for f in $(git -C "$work/other" ls-files | grep '/service-' | head -n 10); do
    echo "# touched by another commit" >>"$work/other/$f"
  done
  git -C "$work/other" commit -qam "Tune ten services"
  git -C "$work/other" push -q origin main
  base=$(git -C "$bare" rev-parse main)
  cp -a "$bare" "$work/remote.pristine"

  # A clone's state: its object files and everything else under .git.
  snapshot_clone() {
    mkdir -p "$2"
    (cd "$1/.git" && find objects -type f | LC_ALL=C sort) >"$2/objects.list"
    tar -C "$1/.git" --exclude=./objects -cf "$2/meta.tar" .
  }
  restore_clone() {
    (cd "$1/.git" && find objects -type f | LC_ALL=C sort | LC_ALL=C comm -13 "$2/objects.list" - |
      xargs -r rm -f)
    find "$1/.git" -mindepth 1 -maxdepth 1 ! -name objects -exec rm -rf {} +
    tar -C "$1/.git" -xf "$2/meta.tar"
    git -C "$1" reset -q --hard
    git -C "$1" clean -qfdx
  }
  restore_remote() {
    rm -rf "$bare"
    cp -a "$work/remote.pristine" "$bare"
  }
  snapshot_clone "$work/ours" "$work/ours.state"
  snapshot_clone "$work/gitcli" "$work/gitcli.state"
  mapfile -t policy_args < <("$bench" --print_policies=1 | sed 's/^/--policy=/')

  # Checks the pushed commit: on top of $base, 1,000 files changed; prints its tree.
  check_push() {
    local head parent changed
    head=$(git -C "$bare" rev-parse main)
    parent=$(git -C "$bare" rev-parse main^)
    changed=$(git -C "$bare" diff --name-only main^ main | wc -l)
    if [ "$parent" != "$base" ] || [ "$changed" != 1000 ]; then
      echo "bench-automation.sh: $1 pushed $head on $parent changing $changed files" \
        "(want a commit on $base changing 1000)" >&2
      exit 1
    fi
    git -C "$bare" rev-parse 'main^{tree}'
  }

  run_ours() {
    restore_remote
    restore_clone "$work/ours" "$work/ours.state"
    sleep 1
    ours_json=$("$bench" --git_run --clone="$work/ours" --url="$url" --variant=1 2>>"$work/ours-run.log")
    ours_tree=$(check_push ours)
  }
  run_git() {
    restore_remote
    restore_clone "$work/gitcli" "$work/gitcli.state"
    sleep 1
    local d="$work/gitcli" t0 t1 t2 t3 t4 t5
    t0=$EPOCHREALTIME
    git -C "$d" fetch -q origin
    t1=$EPOCHREALTIME
    git -C "$d" reset -q --hard origin/main
    t2=$EPOCHREALTIME
    "$imagectl" rewrite --path "$d" "${policy_args[@]}" >/dev/null
    t3=$EPOCHREALTIME
    git -C "$d" commit -q -a -m "Update images"
    t4=$EPOCHREALTIME
    git -C "$d" push -q origin main
    t5=$EPOCHREALTIME
    git_tree=$(check_push "git CLI")
    git_times="$(ms "$t0" "$t5") $(ms "$t0" "$t1") $(ms "$t1" "$t2") $(ms "$t2" "$t3") $(ms "$t3" "$t4") $(ms "$t4" "$t5")"
  }

  echo "== git: warm-up runs" >&2
  run_ours
  run_git
  o_total=() o_fetch=() o_rewrite=() o_commit=() o_git=()
  g_total=() g_fetch=() g_reset=() g_rewrite=() g_commit=() g_push=() g_git=()
  for ((r = 1; r <= runs; r++)); do
    run_ours
    j=$ours_json
    echo "   ours $r: $j" >&2
    o_total+=("$(jq -r .total_ms <<<"$j")")
    o_fetch+=("$(jq -r '.open_ms + .fetch_checkout_ms' <<<"$j")")
    o_rewrite+=("$(jq -r .rewrite_ms <<<"$j")")
    o_commit+=("$(jq -r .commit_push_ms <<<"$j")")
    o_git+=("$(jq -r '.total_ms - .rewrite_ms' <<<"$j")")
    run_git
    read -r total fetch reset rewrite commit push <<<"$git_times"
    echo "   git  $r: total $total fetch $fetch reset $reset rewrite $rewrite commit $commit push $push" >&2
    g_total+=("$total") g_fetch+=("$fetch") g_reset+=("$reset") g_rewrite+=("$rewrite")
    g_commit+=("$commit") g_push+=("$push")
    g_git+=("$(awk -v t="$total" -v w="$rewrite" 'BEGIN { print t - w }')")
    if [ "$ours_tree" != "$git_tree" ]; then
      echo "bench-automation.sh: ours pushed tree $ours_tree, git $git_tree" >&2
      exit 1
    fi
  done

  m() { echo "$@" | median; }
  printf '\nOne automation run (10,000 files, 1,000 commits, 1,000 files rewritten), ms, median of %s:\n' "$runs"
  printf '  %-44s %9s %9s\n' "" "ours" "git CLI"
  printf '  %-44s %9s %9s\n' "total" "$(m "${o_total[@]}")" "$(m "${g_total[@]}")"
  printf '  %-44s %9s %9s\n' "fetch + checkout (git: fetch, reset --hard)" "$(m "${o_fetch[@]}")" \
    "$(m "${g_fetch[@]}") + $(m "${g_reset[@]}")"
  printf '  %-44s %9s %9s\n' "rewrite (git: imagectl rewrite process)" "$(m "${o_rewrite[@]}")" "$(m "${g_rewrite[@]}")"
  printf '  %-44s %9s %9s\n' "commit + push (git: commit -a, push)" "$(m "${o_commit[@]}")" \
    "$(m "${g_commit[@]}") + $(m "${g_push[@]}")"
  printf '  %-44s %9s %9s\n' "total without the rewrite" "$(m "${o_git[@]}")" "$(m "${g_git[@]}")"
  printf '  %-44s %9sx  (goal: <= 1x)\n' "ours / git CLI, total" "$(ratio "$(m "${o_total[@]}")" "$(m "${g_total[@]}")")"
fi
