#!/usr/bin/env bash
# The whole loop on real parts, on loopback: installs and builds what is
# missing (tools/setup.sh), then starts
#   - Debian's docker-registry, its notifications pointed at the reflector;
#   - a bare Git repository seeded with deploy/quickstart/fleet (a Deployment
#     with a full-image marker, Helm-style values with :name/:tag markers, a
#     Kustomization images: entry);
#   - the three services with deploy/quickstart/objects.yaml (the
#     reference chapter's ImageRepository, ImagePolicy ">=1.0.0 <2.0.0" and
#     ImageUpdateAutomation with its message template);
# pushes my-app 1.2.3, then 1.3.0 and 2.0.0 (outside the range) to the
# registry, and shows what happened: imagectl's tables and the commits on
# the remote. Everything it started is stopped and removed at the end,
# unless --keep leaves it running to play with.
#
#   tools/quickstart.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."

keep=false
[ "${1:-}" = "--keep" ] && keep=true

tools/setup.sh >/dev/null
bin=build/dev
imagectl=$bin/tools/imagectl/imagectl
run=$(mktemp -d "${TMPDIR:-/tmp}/image-automation.XXXXXX")

. tools/lib/local-loop.sh
loop_ports
stop() { loop_stop; rm -rf "$run"; }
$keep || trap stop EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

loop_registry notify
loop_git
loop_services

# Waits until the remote has $1 commits (or 30 s); prints how long it took.
wait_for_commits() {
  local want=$1 start=$(date +%s%N)
  for _ in $(seq 3000); do
    [ "$(remote_commits)" -ge "$want" ] && break
    sleep 0.01
  done
  echo "  on the remote after $(( ($(date +%s%N) - start) / 1000000 )) ms ($(remote_commits) commits)"
}

say "Pushing $registry/myorg/my-app:1.2.3"
push_image 1.2.3
wait_for_commits 2
say "Pushing 1.3.0 and 2.0.0 (2.0.0 is outside >=1.0.0 <2.0.0)"
push_image 1.3.0
push_image 2.0.0
wait_for_commits 3
# The pushes reached the tag set by notification; the reflector confirms
# them with a scan a few seconds later. Wait for it, so the tables are final.
for _ in $(seq 150); do
  $imagectl get image repository my-app 2>/dev/null | grep -q 'successful scan' && break
  sleep 0.1
done

say "imagectl get image repository / policy / update"
$imagectl get image repository
$imagectl get image policy
$imagectl get image update

say "The commits the automation pushed (git log -p on the remote)"
git --no-pager --git-dir="$run/fleet.git" log -p --stat -2 main

if $keep; then
  say "Everything is still running (logs and data in $run)"
  echo "  export IMAGECTL_REFLECTOR=$IMAGECTL_REFLECTOR IMAGECTL_POLICY=$IMAGECTL_POLICY IMAGECTL_AUTOMATION=$IMAGECTL_AUTOMATION"
  echo "  $imagectl get image policy -A"
  echo "  registry: http://$registry (push images to $registry/myorg/my-app)"
  echo "  remote:   git --git-dir=$run/fleet.git log -p main"
  echo "Stop it all with: kill \$(cat $run/*.pid)"
fi
