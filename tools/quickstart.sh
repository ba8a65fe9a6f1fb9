#!/usr/bin/env bash
# The whole loop on real parts, on loopback: installs and builds what is
# missing (tools/setup.sh), then starts
#   - Debian's docker-registry, its notifications pointed at the reflector;
#   - a bare Git repository seeded with deploy/examples/fleet (a Deployment
#     with a full-image marker, Helm-style values with :name/:tag markers, a
#     Kustomization images: entry);
#   - the three services with deploy/examples/quickstart/objects.yaml (the
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

# Loopback ports nothing listens on, so that the quickstart collides with nothing.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
registry_port=$(free_port)
webhook_port=$(free_port)
export IMAGECTL_REFLECTOR=127.0.0.1:$(free_port)
export IMAGECTL_POLICY=127.0.0.1:$(free_port)
export IMAGECTL_AUTOMATION=127.0.0.1:$(free_port)
registry=127.0.0.1:$registry_port

stop() {
  for pid in "$run"/*.pid; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
}
$keep || trap stop EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# --- the registry -----------------------------------------------------------
cat >"$run/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $run/registry
http:
  addr: $registry
notifications:
  endpoints:
    - name: reflector
      url: http://127.0.0.1:$webhook_port/v1/registry-events
      timeout: 2s
      threshold: 5
      backoff: 1s
EOF
docker-registry serve "$run/registry.yml" >"$run/registry.log" 2>&1 &
echo $! >"$run/registry.pid"

# --- the Git remote ---------------------------------------------------------
git=(git -c user.name=quickstart -c user.email=quickstart@example.com -c init.defaultBranch=main)
"${git[@]}" init -q --bare "$run/fleet.git"
"${git[@]}" init -q "$run/seed"
cp -r deploy/examples/fleet/. "$run/seed/"
grep -rl 'localhost:5000' "$run/seed" | xargs sed -i "s#localhost:5000#$registry#g"
"${git[@]}" -C "$run/seed" add -A
"${git[@]}" -C "$run/seed" commit -q -m "Example fleet"
"${git[@]}" -C "$run/seed" push -q "$run/fleet.git" HEAD:main
rm -rf "$run/seed"

# --- the services -----------------------------------------------------------
mkdir -p "$run/manifests"
sed -e "s#localhost:5000#$registry#" -e "s#file:///srv/git/fleet.git#file://$run/fleet.git#" \
  deploy/examples/quickstart/objects.yaml >"$run/manifests/objects.yaml"

start() {  # name binary address [flags...]
  local name=$1 binary=$2 address=$3; shift 3
  "$bin/$binary" --listen="$address" --data-dir="$run/$name" \
    --manifests="$run/manifests" "$@" >"$run/$name.log" 2>&1 &
  echo $! >"$run/$name.pid"
}
start reflector services/reflector/image-reflector "$IMAGECTL_REFLECTOR" \
  --http-listen=127.0.0.1:$webhook_port
start automation services/automation/image-automation "$IMAGECTL_AUTOMATION"
start policy services/policy/image-policy "$IMAGECTL_POLICY" \
  --reflector="$IMAGECTL_REFLECTOR" --automation="$IMAGECTL_AUTOMATION"

for _ in $(seq 200); do
  $imagectl get image update >/dev/null 2>&1 && $imagectl get image policy >/dev/null 2>&1 &&
    $imagectl get image repository >/dev/null 2>&1 &&
    curl -fs "http://$registry/v2/" >/dev/null && break
  sleep 0.1
done

# --- pushing images by the registry's HTTP API ------------------------------
# A tiny OCI image: a config blob, one layer, a manifest under the tag. Each
# tag gets its own config so that each is a distinct image.
upload_blob() {  # file -> digest
  local file=$1 digest location
  digest=sha256:$(sha256sum "$file" | cut -d' ' -f1)
  location=$(curl -fsS -o /dev/null -D - -X POST "http://$registry/v2/myorg/my-app/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  case $location in http*) ;; *) location=http://$registry$location ;; esac
  case $location in *\?*) location="$location&digest=$digest" ;; *) location="$location?digest=$digest" ;; esac
  curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary "@$file" "$location"
  echo "$digest"
}
push_image() {  # tag
  local tag=$1 config=$run/config.json layer=$run/layer.bin manifest=$run/manifest.json
  printf '{"architecture":"amd64","os":"linux","config":{"Labels":{"version":"%s"}},"rootfs":{"type":"layers","diff_ids":[]}}' \
    "$tag" >"$config"
  printf 'my-app %s\n' "$tag" >"$layer"
  local config_digest layer_digest
  config_digest=$(upload_blob "$config")
  layer_digest=$(upload_blob "$layer")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}' \
    "$config_digest" "$(stat -c %s "$config")" "$layer_digest" "$(stat -c %s "$layer")" >"$manifest"
  curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$manifest" "http://$registry/v2/myorg/my-app/manifests/$tag"
}

commits() { git --git-dir="$run/fleet.git" rev-list --count main; }
# Waits until the remote has $1 commits (or 30 s); prints how long it took.
wait_for_commits() {
  local want=$1 start=$(date +%s%N)
  for _ in $(seq 3000); do
    [ "$(commits)" -ge "$want" ] && break
    sleep 0.01
  done
  echo "  on the remote after $(( ($(date +%s%N) - start) / 1000000 )) ms ($(commits) commits)"
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
