#!/usr/bin/env bash
# Installs what the build and the tests need from Debian's packages (only
# what is missing), then configures and builds. Shared by tools/test.sh,
# tools/run.sh and .ci/run. Idempotent; safe to run again.
#
#   tools/setup.sh [--preset dev|asan|clang|fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."

preset=dev
while [ $# -gt 0 ]; do
  case "$1" in
    --preset) preset="$2"; shift 2 ;;
    *) echo "setup.sh: unknown argument $1 (use --preset dev|asan|clang|fuzz)" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates openssl curl
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  libabsl-dev libre2-dev libyaml-cpp-dev libyaml-dev libsqlite3-dev nlohmann-json3-dev
  libcli11-dev libcpp-httplib-dev libcurl4-openssl-dev libssl-dev libcrypt-dev libgit2-dev libgpgme-dev
  zlib1g-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # The style check (clang-format 14) and the thread-safety build (clang 14).
  clang-format clang-14
  # Real servers the tests start on loopback: a registry, a Git remote over
  # smart HTTP (lighttpd + git http-backend) and over SSH, OpenPGP.
  docker-registry apache2-utils lighttpd lighttpd-mod-openssl openssh-server
  openssh-client gnupg
)
# The fuzz preset links libFuzzer and clang's sanitizer runtimes.
if [ "$preset" = fuzz ]; then packages+=(libclang-rt-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "${IA_BUILD_JOBS:-2}"
