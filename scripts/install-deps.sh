#!/usr/bin/env bash
# Installs every Debian 12 package p2pmcp needs to build and run. Idempotent: it only
# calls apt-get when something is missing. Runs apt-get as root (via sudo if needed).
#   scripts/install-deps.sh          build + run dependencies
#   scripts/install-deps.sh --test   also the test tools and the npm interop peers
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[[ "${1:-}" == "--test" ]] && with_tests=1

packages=(
  cmake ninja-build g++ pkg-config
  libboost1.81-dev libssl-dev libfmt-dev nlohmann-json3-dev
)
if (( with_tests )); then
  packages+=(libgtest-dev libgmock-dev clang libclang-rt-14-dev iproute2 iptables procps)
  # Only npm is needed from the system: the interop peers bring their own Node.js 22.
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if (( ${#missing[@]} )); then
  echo "install-deps: installing ${missing[*]}"
  sudo=()
  (( EUID == 0 )) || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if (( with_tests )); then
  # js-libp2p peers for the interop tests, pinned by tests/interop/package-lock.json.
  stamp=tests/interop/node_modules/.p2pmcp-lock
  if ! cmp -s tests/interop/package-lock.json "$stamp" 2>/dev/null; then
    echo "install-deps: installing the js-libp2p interop peers (npm ci)"
    (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
    cp tests/interop/package-lock.json "$stamp"
  fi
fi
