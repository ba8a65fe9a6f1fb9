#!/usr/bin/env bash
# Push-to-commit latency of the whole loop on real parts (issue: "over 20
# pushes, registry push to the commit being on the remote: p50 and p99, with
# notifications and with a 1 s polling interval; peak RSS of each service").
#
# Two runs, each on fresh state (tools/lib/local-loop.sh: Debian's
# docker-registry, a bare Git repository, the three services):
#   notify  the registry's notifications go to the reflector's webhook;
#   poll    no notifications; the ImageRepository is scanned every 1s.
# Each pushes my-app 1.0.1 ... 1.0.N (every push is a new selection) and
# times from the end of the push (the manifest PUT answered) to the commit
# being on the remote. Prints p50, p99 and max, and VmHWM of each service.
#
#   tools/bench-latency.sh [PUSHES]     (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
pushes=${1:-20}
bin=${BUILD_DIR:-build/dev}
[ -x "$bin/services/reflector/image-reflector" ] || tools/setup.sh >/dev/null

. tools/lib/local-loop.sh

percentile() {  # p < sorted numbers
  sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int((p / 100) * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print v[i] }'
}

one_run() {  # mode
  local mode=$1
  run=$(mktemp -d "${TMPDIR:-/tmp}/bench-latency.XXXXXX")
  loop_ports
  if [ "$mode" = notify ]; then
    loop_registry notify
    loop_git
    loop_services 1h
  else
    loop_registry
    loop_git
    loop_services 1s
  fi
  : >"$run/latencies"
  local i want start now
  for i in $(seq "$pushes"); do
    want=$(( $(remote_commits) + 1 ))
    push_image "1.0.$i"
    start=$(date +%s%N)
    for _ in $(seq 6000); do
      [ "$(remote_commits)" -ge "$want" ] && break
      sleep 0.005
    done
    now=$(date +%s%N)
    if [ "$(remote_commits)" -lt "$want" ]; then
      echo "bench-latency: 1.0.$i never reached the remote; logs in $run" >&2
      loop_stop
      exit 1
    fi
    echo $(( (now - start) / 1000000 )) >>"$run/latencies"
  done
  local rss=""
  for name in reflector policy automation; do
    rss+="$name $(awk '/VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$(cat "$run/$name.pid")/status"), "
  done
  printf '%-7s %5s %8s %8s %8s   peak RSS: %s\n' "$mode" "$pushes" \
    "$(percentile 50 <"$run/latencies")" "$(percentile 99 <"$run/latencies")" \
    "$(sort -n "$run/latencies" | tail -1)" "${rss%, }"
  loop_stop
  rm -rf "$run"
}

printf '%-7s %5s %8s %8s %8s   (push-to-commit, ms)\n' mode pushes p50 p99 max
one_run notify
one_run poll
