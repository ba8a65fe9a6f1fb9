#!/usr/bin/env bash
# Runs the system on a local example: installs and builds what is missing
# (tools/setup.sh), starts the three services on loopback with the example
# manifests in deploy/examples/, shows them through imagectl and stops them
# again. With --keep the services stay up (their addresses are printed) to
# play with imagectl; stop them with `kill $(cat <run dir>/*.pid)`.
#
#   tools/quickstart.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."

keep=false
[ "${1:-}" = "--keep" ] && keep=true

tools/setup.sh >/dev/null
bin=build/dev
run=$(mktemp -d "${TMPDIR:-/tmp}/image-automation.XXXXXX")

# Loopback ports nothing listens on, so that the quickstart collides with nothing.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
ports=($(free_port) $(free_port) $(free_port))
export IMAGECTL_REFLECTOR=127.0.0.1:${ports[0]}
export IMAGECTL_POLICY=127.0.0.1:${ports[1]}
export IMAGECTL_AUTOMATION=127.0.0.1:${ports[2]}

stop() {
  for pid in "$run"/*.pid; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
}
$keep || trap stop EXIT

start() {  # name binary address [flags...]
  local name=$1 binary=$2 address=$3; shift 3
  "$bin/$binary" --listen="$address" --data-dir="$run/$name" \
    --manifests=deploy/examples "$@" >"$run/$name.log" 2>&1 &
  echo $! >"$run/$name.pid"
}
start reflector services/reflector/image-reflector "$IMAGECTL_REFLECTOR"
start policy services/policy/image-policy "$IMAGECTL_POLICY" \
  --reflector="$IMAGECTL_REFLECTOR" --automation="$IMAGECTL_AUTOMATION"
start automation services/automation/image-automation "$IMAGECTL_AUTOMATION"

imagectl=$bin/tools/imagectl/imagectl
for _ in $(seq 100); do
  $imagectl get image update >/dev/null 2>&1 && $imagectl get image policy >/dev/null 2>&1 &&
    $imagectl get image repository >/dev/null 2>&1 && break
  sleep 0.1
done

set -x
$imagectl get image repository
$imagectl get image policy
$imagectl get image update
$imagectl get source git
$imagectl create image repository podinfo --image=ghcr.io/stefanprodan/podinfo --interval=5m
$imagectl get image repository podinfo -o yaml
{ set +x; } 2>/dev/null

if $keep; then
  echo
  echo "Services are running (logs and data in $run):"
  echo "  export IMAGECTL_REFLECTOR=$IMAGECTL_REFLECTOR IMAGECTL_POLICY=$IMAGECTL_POLICY IMAGECTL_AUTOMATION=$IMAGECTL_AUTOMATION"
  echo "  $imagectl get image repository -A"
  echo "Stop them with: kill \$(cat $run/*.pid)"
fi
