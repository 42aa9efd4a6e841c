#!/usr/bin/env bash
# One command from a fresh Debian 12 checkout to a running node: installs packages,
# builds the release binary and starts `p2pmcp up` (arguments are passed through,
# e.g. scripts/run-node.sh --listen /ip4/0.0.0.0/tcp/0).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target p2pmcp
exec build/release/apps/p2pmcp/p2pmcp up "$@"
