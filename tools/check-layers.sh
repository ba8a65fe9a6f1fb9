#!/usr/bin/env bash
# Fails when a file includes a layer above its own (docs/architecture.md,
# "Layers"). The layers, bottom up:
#
#   model    common/ object model; protobuf messages only
#   runtime  common/ store, controllers, feeds, logs, metrics, secrets
#   server   common/ gRPC and HTTP edge
#   engines  pure code of the services (selection, rewrite, templates): the
#            model and each other, never the runtime, gRPC, libgit2,
#            gpgme or libcurl
#
# Run by ctest (style.layers).
set -euo pipefail
cd "$(dirname "$0")/.."

model="objects cloud_hosts conditions duration image_ref git_url validation validation_fields manifest manifest_write manifest_files files status_macros defaults semver"
runtime="clock log metrics work_queue controller feed store object_store kv_object_store object_controller secrets service_context"
server="grpc_status health http_server service_host tls_credentials object_rpc feed_stream authz auth_tokens authn"
# Engines: services' pure files (shell globs; missing ones are skipped).
engines="services/policy/select services/policy/expand services/policy/decide
  services/reflector/scan_decision services/reflector/tag_sets
  services/automation/run_failure services/automation/git_types
  services/automation/setters services/automation/setters_* services/automation/safe_files
  services/automation/template services/automation/template_* services/automation/commit_message"
# What no engine and no model file may include.
forbidden_libs='grpcpp/|grpc/|\.grpc\.pb\.h|git2|gpgme|curl/|sqlite3|httplib'

layer_of() {  # common header base name -> layer
  local base=$1 l
  for l in model runtime server; do
    case " ${!l} " in *" $base "*) echo "$l"; return ;; esac
  done
  echo unknown
}

is_engine() {  # path without extension
  local - pattern
  set -f  # the patterns are matched below, not expanded here
  for pattern in $engines; do
    # shellcheck disable=SC2053  # the pattern is a glob on purpose
    [[ "$1" == $pattern ]] && return 0
  done
  return 1
}

status=0
complain() { echo "$1" >&2; status=1; }

check_file() {  # file, allowed layers (space separated), forbid libs (0/1)
  local file=$1 allowed=$2 forbid=$3 inc base l
  while IFS= read -r inc; do
    case "$inc" in
      common/*.h)
        base=${inc#common/}; base=${base%.h}
        l=$(layer_of "$base")
        if [ "$l" = unknown ]; then
          complain "$file: includes $inc, which tools/check-layers.sh does not place in a layer"
        elif [[ " $allowed " != *" $l "* ]]; then
          complain "$file: includes $inc ($l layer), above its own"
        fi ;;
    esac
    if [ "$forbid" = 1 ] && [[ "$inc" == services/* ]] && ! is_engine "${inc%.h}"; then
      complain "$file: includes $inc, which is not an engine"
    fi
    if [ "$forbid" = 1 ] && [[ "$inc" =~ $forbidden_libs ]]; then
      complain "$file: includes $inc; this layer links no gRPC, Git, curl, SQLite or HTTP library"
    fi
  done < <(sed -n 's/^#include [<"]\([^>"]*\)[>"].*/\1/p' "$file")
}

for f in common/*.h common/*.cc; do
  base=$(basename "$f"); base=${base%.*}
  case "$(layer_of "$base")" in
    model) check_file "$f" "model" 1 ;;
    runtime) check_file "$f" "model runtime" 0 ;;
    server) check_file "$f" "model runtime server" 0 ;;
    *) complain "$f: not placed in a layer (add it to tools/check-layers.sh and common/CMakeLists.txt)" ;;
  esac
done
for pattern in $engines; do
  for f in $pattern.h $pattern.cc; do
    [ -f "$f" ] && check_file "$f" "model" 1
  done
done
[ $status -eq 0 ] && echo "layers: no upward include"
exit $status
