# Functions shared by tools/quickstart.sh and tools/bench-latency.sh: the
# whole loop on loopback (Debian's docker-registry, a bare Git repository
# seeded with deploy/quickstart/fleet, the three services) and image pushes by
# the registry's HTTP API. Source it from the repository's root with `run`
# set to an empty scratch folder and `bin` to the build folder.

# A loopback port nothing listens on, below the kernel's ephemeral range
# (where an outgoing connection could take it between this check and the
# bind: seen as "Address already in use").
free_port() {
  local p low=32768
  [ -r /proc/sys/net/ipv4/ip_local_port_range ] &&
    read -r low _ </proc/sys/net/ipv4/ip_local_port_range
  while :; do
    p=$((10000 + RANDOM % (low - 10000)))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# Picks the ports and exports the addresses imagectl reads.
loop_ports() {
  registry_port=$(free_port)
  webhook_port=$(free_port)
  registry=127.0.0.1:$registry_port
  export IMAGECTL_REFLECTOR=127.0.0.1:$(free_port)
  export IMAGECTL_POLICY=127.0.0.1:$(free_port)
  export IMAGECTL_AUTOMATION=127.0.0.1:$(free_port)
}

# Kills what loop_* started (every $run/*.pid).
loop_stop() {
  for pid in "$run"/*.pid; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# Starts docker-registry on $registry; with "notify", its notifications go
# to the reflector's webhook.
loop_registry() {
  {
    printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n' "$run/registry"
    printf 'http:\n  addr: %s\n' "$registry"
    if [ "${1:-}" = notify ]; then
      printf 'notifications:\n  endpoints:\n    - name: reflector\n'
      printf '      url: http://127.0.0.1:%s/v1/registry-events\n' "$webhook_port"
      printf '      timeout: 2s\n      threshold: 5\n      backoff: 1s\n'
    fi
  } >"$run/registry.yml"
  docker-registry serve "$run/registry.yml" >"$run/registry.log" 2>&1 &
  echo $! >"$run/registry.pid"
}

# A bare repository $run/fleet.git holding deploy/quickstart/fleet, its image
# references pointed at $registry.
loop_git() {
  local git=(git -c user.name=quickstart -c user.email=quickstart@example.com
             -c init.defaultBranch=main)
  "${git[@]}" init -q --bare "$run/fleet.git"
  "${git[@]}" init -q "$run/seed"
  cp -r deploy/quickstart/fleet/. "$run/seed/"
  grep -rl 'localhost:5000' "$run/seed" | xargs sed -i "s#localhost:5000#$registry#g"
  "${git[@]}" -C "$run/seed" add -A
  "${git[@]}" -C "$run/seed" commit -q -m "Example fleet"
  "${git[@]}" -C "$run/seed" push -q "$run/fleet.git" HEAD:main
  rm -rf "$run/seed"
}

# The three services with deploy/quickstart/objects.yaml pointed at
# $registry and $run/fleet.git; $1 (optional) replaces the
# ImageRepository's interval. Waits until they and the registry answer.
loop_services() {
  mkdir -p "$run/manifests"
  sed -e "s#localhost:5000#$registry#" -e "s#file:///srv/git/fleet.git#file://$run/fleet.git#" \
    deploy/quickstart/objects.yaml >"$run/manifests/objects.yaml"
  if [ -n "${1:-}" ]; then
    # Only the ImageRepository's (the first) interval.
    sed -i "0,/interval: 1m/s//interval: $1/" "$run/manifests/objects.yaml"
  fi
  _loop_start reflector services/reflector/image-reflector "$IMAGECTL_REFLECTOR" \
    --http-listen=127.0.0.1:$webhook_port
  _loop_start automation services/automation/image-automation "$IMAGECTL_AUTOMATION"
  _loop_start policy services/policy/image-policy "$IMAGECTL_POLICY" \
    --reflector="$IMAGECTL_REFLECTOR" --automation="$IMAGECTL_AUTOMATION"
  local imagectl=$bin/tools/imagectl/imagectl
  for _ in $(seq 200); do
    $imagectl get image update >/dev/null 2>&1 && $imagectl get image policy >/dev/null 2>&1 &&
      $imagectl get image repository >/dev/null 2>&1 &&
      curl -fs "http://$registry/v2/" >/dev/null && return 0
    sleep 0.1
  done
  echo "local-loop: the services or the registry did not come up; logs in $run" >&2
  return 1
}

_loop_start() {  # name binary address [flags...]
  local name=$1 binary=$2 address=$3; shift 3
  "$bin/$binary" --listen="$address" --data-dir="$run/$name" \
    --manifests="$run/manifests" "$@" >"$run/$name.log" 2>&1 &
  echo $! >"$run/$name.pid"
}

# Uploads a file as a blob of myorg/my-app; prints its digest.
_loop_upload_blob() {
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

# Pushes myorg/my-app:$1, a tiny OCI image (its own config per tag, so each
# tag is a distinct image).
push_image() {
  local tag=$1 config=$run/config.json layer=$run/layer.bin manifest=$run/manifest.json
  printf '{"architecture":"amd64","os":"linux","config":{"Labels":{"version":"%s"}},"rootfs":{"type":"layers","diff_ids":[]}}' \
    "$tag" >"$config"
  printf 'my-app %s\n' "$tag" >"$layer"
  local config_digest layer_digest
  config_digest=$(_loop_upload_blob "$config")
  layer_digest=$(_loop_upload_blob "$layer")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}' \
    "$config_digest" "$(stat -c %s "$config")" "$layer_digest" "$(stat -c %s "$layer")" >"$manifest"
  curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$manifest" "http://$registry/v2/myorg/my-app/manifests/$tag"
}

# Commits on the remote's main.
remote_commits() { git --git-dir="$run/fleet.git" rev-list --count main; }
