#!/usr/bin/env bash
# Runs every test: installs and builds what is missing (tools/setup.sh), then
# the whole CTest suite (unit and integration tests; the integration tests
# start the services they need on loopback ports and stop them).
#
#   tools/test.sh [--preset dev|asan] [extra ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

preset=dev
if [ "${1:-}" = "--preset" ]; then preset="$2"; shift 2; fi
tools/setup.sh --preset "$preset"
ctest --preset "$preset" "$@"
