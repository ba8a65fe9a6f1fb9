#!/usr/bin/env bash
# The reflector scanning 1,000 repositories x 1,000 tags from the fake
# registry (tests/bench/reflector_fake_registry.cc): wall time of the full
# first scan, requests sent, peak RSS of the reflector (VmHWM), RSS after the
# scan and the size of its state.db; then a full rescan, timed; then curl
# fetching exactly the same pages with the same parallelism, in the same
# run, to tell whether a scan is limited by the registry or by us.
#
#   tools/bench-reflector.sh
#
# Environment:
#   BUILD_DIR      the CMake build folder (default build/dev)
#   IA_BUILD_JOBS  build jobs (default 2)
#   REPOS, TAGS    repositories and tags per repository (default 1000, 1000)
#   PAGE_SIZE      --registry-page-size, and the ?n= of curl's URLs (default
#                  1000: one page per repository; 100 makes ten)
#   WORKERS        the reflector's --workers, and curl's --parallel-max
#                  (default 8)
#   REFLECTOR_BIN  the image-reflector binary to measure (default: the one
#                  built in BUILD_DIR), e.g. a copy of an older build
#   BENCH_DIR      where manifests, data and logs go (default: a fresh
#                  folder under $TMPDIR, removed at the end unless KEEP=1)
#
# Timing: the first scan is measured from the reflector's start to the "ts"
# of its last "scanned" log line (so polling adds nothing); it includes
# applying the 1,000 manifests from --manifests. The rescan restarts the
# reflector with every manifest's interval changed (1h -> 59m): a spec change
# makes every repository due at once, against the stored tag sets of the
# first scan. Requests are the fake registry's own count.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build/dev}
repos=${REPOS:-1000}
tags=${TAGS:-1000}
page_size=${PAGE_SIZE:-1000}
workers=${WORKERS:-8}
if [ -n "${BENCH_DIR:-}" ]; then
  work=$BENCH_DIR
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/ia-bench-reflector.XXXXXX")
fi

if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake --preset dev -B "$build_dir" >/dev/null
fi
cmake --build "$build_dir" -j "${IA_BUILD_JOBS:-2}" \
  --target image-reflector imagectl bench_fake_registry >&2
reflector_bin=${REFLECTOR_BIN:-$build_dir/services/reflector/image-reflector}
imagectl_bin="$build_dir/tools/imagectl/imagectl"
fake_bin="$build_dir/tests/bench/bench_fake_registry"

fake_pid=""
reflector_pid=""
cleanup() {
  [ -n "$reflector_pid" ] && kill "$reflector_pid" 2>/dev/null || true
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -z "${BENCH_DIR:-}" ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# A port on 127.0.0.1 that nothing answers on.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
}
# Field (kB) of /proc/PID/status, in MiB.
status_mib() {
  awk -v f="$2:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}
# User + system CPU seconds of PID so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
file_size() { if [ -f "$1" ]; then stat -c %s "$1"; else echo 0; fi; }

# The fake registry's request count (it prints it on SIGUSR1).
fake_requests() {
  local before
  before=$(grep -c '^stats ' "$work/fake.out" || true)
  kill -USR1 "$fake_pid"
  while [ "$(grep -c '^stats ' "$work/fake.out" || true)" -le "$before" ]; do sleep 0.05; done
  grep '^stats ' "$work/fake.out" | tail -1 | sed 's/.*requests=\([0-9]*\).*/\1/'
}

# Waits until LOG has $repos "scanned" lines; prints the epoch seconds of
# the last one's "ts".
wait_scanned() {
  local log=$1 n
  while :; do
    n=$(grep -c '"msg":"scanned"' "$log" || true)
    [ "$n" -ge "$repos" ] && break
    if ! kill -0 "$reflector_pid" 2>/dev/null; then
      echo "bench-reflector.sh: the reflector exited; see $log" >&2
      tail -20 "$log" >&2
      exit 1
    fi
    sleep 0.2
  done
  date -d "$(grep '"msg":"scanned"' "$log" | tail -1 | sed 's/.*"ts":"\([^"]*\)".*/\1/')" +%s.%N
}

write_manifests() {
  local interval=$1 i name
  rm -rf "$work/manifests"
  mkdir -p "$work/manifests"
  for ((i = 0; i < repos; i++)); do
    printf -v name 'repo-%04d' "$i"
    cat >"$work/manifests/$name.yaml" <<EOF
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: $name
  namespace: bench
spec:
  image: 127.0.0.1:$fake_port/bench/$name
  interval: $interval
  insecure: true
EOF
  done
}

start_reflector() {
  "$reflector_bin" --listen="$grpc_addr" --data-dir="$work/data" \
    --manifests="$work/manifests" --workers="$workers" \
    --registry-requests-per-second=0 --registry-page-size="$page_size" \
    --log-level=info 2>"$1" &
  reflector_pid=$!
}

# Starts the reflector (its log in $1) and waits until every repository is
# scanned; sets ${2}_wall, _requests, _cpu, _hwm (peak RSS) and _rss.
timed_scan() {
  local before start end
  before=$(fake_requests)
  start=$(now)
  start_reflector "$1"
  end=$(wait_scanned "$1")
  printf -v "${2}_wall" '%s' "$(elapsed "$start" "$end")"
  printf -v "${2}_requests" '%s' "$(($(fake_requests) - before))"
  printf -v "${2}_cpu" '%s' "$(cpu_seconds "$reflector_pid")"
  printf -v "${2}_hwm" '%s' "$(status_mib "$reflector_pid" VmHWM)"
  printf -v "${2}_rss" '%s' "$(status_mib "$reflector_pid" VmRSS)"
}

stop_reflector() {
  kill -TERM "$reflector_pid"
  wait "$reflector_pid" || true
  reflector_pid=""
}

# --- The fake registry.
"$fake_bin" --repositories="$repos" --tags="$tags" --urls_file="$work/urls.cfg" \
  --page_size="$page_size" >"$work/fake.out" 2>"$work/fake.err" &
fake_pid=$!
while ! grep -q '^port ' "$work/fake.out"; do
  kill -0 "$fake_pid" 2>/dev/null || { cat "$work/fake.err" >&2; exit 1; }
  sleep 0.05
done
fake_port=$(sed -n 's/^port //p' "$work/fake.out")
pages=$(grep -c '^url = ' "$work/urls.cfg")
echo "fake registry on 127.0.0.1:$fake_port: $repos repositories x $tags tags," \
  "$pages pages of ?n=$page_size" >&2

# --- First scan.
write_manifests 1h
rm -rf "$work/data"
grpc_addr="127.0.0.1:$(free_port)"
timed_scan "$work/reflector1.log" first

# Every repository is Ready with all its tags, as imagectl shows them.
"$imagectl_bin" --reflector="$grpc_addr" get image repository -A -o json >"$work/list.json"
ready=$(jq --argjson n "$tags" '[.items[] | select(.status.lastScanResult.tagCount == $n
  and any(.status.conditions[]; .type == "Ready" and .status == "True"))] | length' "$work/list.json")
if [ "$ready" -ne "$repos" ]; then
  echo "bench-reflector.sh: only $ready of $repos repositories are Ready with $tags tags" >&2
  exit 1
fi
hwm_after_list=$(status_mib "$reflector_pid" VmHWM)
db_size=$(file_size "$work/data/state.db")
wal_size=$(file_size "$work/data/state.db-wal")
stop_reflector
db_size_stopped=$(file_size "$work/data/state.db")
wal_size_stopped=$(file_size "$work/data/state.db-wal")

# --- Full rescan: restart with a changed interval, so that every
# repository is due at once.
write_manifests 59m
timed_scan "$work/reflector2.log" rescan
stop_reflector

# --- curl: the same pages, the same parallelism, one process. The fake
# answers as Docker distribution does (application/json; charset=utf-8, never
# compressed), so curl with or without --compressed gets the same bytes.
curl_run() {
  local t
  t=$(now)
  curl --parallel --parallel-max "$workers" --silent --show-error --fail \
    --no-progress-meter --noproxy '*' "$@" -K "$work/urls.cfg"
  elapsed "$t" "$(now)"
}
requests_before_curl=$(fake_requests)
curl_wall=$(curl_run)
curl_requests=$(($(fake_requests) - requests_before_curl))

printf '\n%s repositories x %s tags, page size %s, %s workers (curl: --parallel-max %s)\n' \
  "$repos" "$tags" "$page_size" "$workers" "$workers"
printf '%-34s %10s %10s %10s %12s %12s\n' "" "wall s" "requests" "CPU s" "peak RSS MiB" "RSS MiB"
printf '%-34s %10s %10s %10s %12s %12s\n' "first scan (from start)" "$first_wall" \
  "$first_requests" "$first_cpu" "$first_hwm" "$first_rss"
printf '%-34s %10s %10s %10s %12s %12s\n' "full rescan (restart, spec change)" \
  "$rescan_wall" "$rescan_requests" "$rescan_cpu" "$rescan_hwm" "$rescan_rss"
printf '%-34s %10s %10s %10s %12s %12s\n' "curl, same pages" "$curl_wall" \
  "$curl_requests" "-" "-" "-"
printf '\npeak RSS after listing all repositories (imagectl get -A -o json): %s MiB\n' \
  "$hwm_after_list"
printf 'state.db after the first scan: %s MiB (+ WAL %s MiB); after SIGTERM: %s MiB (+ WAL %s MiB)\n' \
  "$(mib "$db_size")" "$(mib "$wal_size")" "$(mib "$db_size_stopped")" "$(mib "$wal_size_stopped")"
printf 'tags stored: %s\n' "$((repos * tags))"
