#!/usr/bin/env bash
# Runs every test: installs and builds what is missing (tools/setup.sh), then
# the whole CTest suite (unit and integration tests; the integration tests
# start the services they need on loopback ports and stop them). With the
# default preset it then builds the `clang` preset (clang 14, thread-safety
# analysis as errors) and runs the suite on that build too.
#
#   tools/test.sh [--preset dev|asan|clang] [extra ctest arguments]
#
# IA_SKIP_CLANG=1 skips the second build (for a quick local run).
set -euo pipefail
cd "$(dirname "$0")/.."

preset=dev
if [ "${1:-}" = "--preset" ]; then preset="$2"; shift 2; fi
tools/setup.sh --preset "$preset"
ctest --preset "$preset" "$@"
if [ "$preset" = dev ] && [ -z "${IA_SKIP_CLANG:-}" ]; then
  tools/setup.sh --preset clang
  ctest --preset clang "$@"
fi
