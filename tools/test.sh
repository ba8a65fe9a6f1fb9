#!/usr/bin/env bash
# Runs every test: installs and builds what is missing (tools/setup.sh), then
# the whole CTest suite (unit and integration tests; the integration tests
# start the services they need on loopback ports and stop them). With the
# default preset it then builds the `clang` preset (clang 14, thread-safety
# analysis as errors) and runs the suite on that build too.
#
#   tools/test.sh [--preset dev|asan|clang] [extra ctest arguments]
#
# IA_SKIP_CLANG=1 skips the second build (for a quick local run). SEMVER_REF
# and TEMPLATE_REF name a built semver-ref and template-ref; without them
# they are built from ../shared/tools/. In CI (CI=true), or when
# IA_FUZZ_SECONDS is set, every fuzz target then runs for IA_FUZZ_SECONDS
# (20 by default) under libFuzzer (tools/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

preset=dev
if [ "${1:-}" = "--preset" ]; then preset="$2"; shift 2; fi
tools/setup.sh --preset "$preset"

# The differential peers (../shared/tools/, beside this checkout when it is
# there): built from Debian's Go packages in about a minute, so that the
# differential tests run instead of skipping.
peers=../shared/tools
if [ -z "${SEMVER_REF:-}" ] && [ -f "$peers/semver-ref/build.sh" ]; then
  if ref=$(bash "$peers/semver-ref/build.sh" "${TMPDIR:-/tmp}/ia-semver-ref" | tail -1) &&
     [ -x "$ref" ]; then
    export SEMVER_REF=$ref
  else
    echo "test.sh: could not build semver-ref; the semver differential test skips" >&2
  fi
fi

if [ -z "${TEMPLATE_REF:-}" ] && [ -f "$peers/template-ref/build.sh" ]; then
  if ref=$(bash "$peers/template-ref/build.sh" "${TMPDIR:-/tmp}/ia-template-ref" | tail -1) &&
     [ -x "$ref" ]; then
    export TEMPLATE_REF=$ref
  else
    echo "test.sh: could not build template-ref; the template differential test skips" >&2
  fi
fi

ctest --preset "$preset" "$@"
if [ "$preset" = dev ] && [ -z "${IA_SKIP_CLANG:-}" ]; then
  tools/setup.sh --preset clang
  ctest --preset clang "$@"
fi
if [ "$preset" = dev ] && { [ "${CI:-}" = true ] || [ -n "${IA_FUZZ_SECONDS:-}" ]; }; then
  tools/fuzz.sh "${IA_FUZZ_SECONDS:-20}"
fi
