#!/usr/bin/env bash
# Attack test (issue 9): from 127.0.0.1, 2000 silent TCP sockets, then 1100 connections
# that complete Noise with a throwaway key each, against a node limited to 1024 open
# files; an honest peer (trusted by the node, as a user would) dials afresh and pings
# the node throughout, and every ping must succeed, also after the attacks (the
# listener still accepts). The node's log must stay short (refusals are summarised), and
# `p2pmcp status` shows the resource scopes.
# Loopback only; every wait is bounded.
# Usage: attack_test.sh <path to p2pmcp> <path to attack_peer>
set -uo pipefail
bin=$1
attack=$2
work=$(mktemp -d)
node_pid=
cleanup() {
  [[ -n "$node_pid" ]] && kill -9 "$node_pid" 2>/dev/null
  [[ -n "${KEEP_LOG:-}" ]] && cp "$work/node.log" "$KEEP_LOG"
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "----- last lines of the node's log"
  tail -n 40 "$work/node.log"
  exit 1
}

honest=$("$attack" id) || fail "attack_peer id"
mkdir -p "$work/a"
"$bin" trust add "$honest" --name honest --home "$work/a" >/dev/null || fail "p2pmcp trust add"

# Debian's default: 1024 descriptors, soft and hard (the node cannot raise it).
coproc NODE { ulimit -n 1024 && exec "$bin" up --home "$work/a" --listen /ip4/127.0.0.1/tcp/0 --gateway 127.0.0.1:0 --log-level info 2>"$work/node.log"; }
node_pid=$NODE_PID
read -r -t 30 -u "${NODE[0]}" _header
read -r -t 30 -u "${NODE[0]}" _listening
read -r -t 30 -u "${NODE[0]}" address
address=${address// /}
[[ "$address" == /ip4/127.0.0.1/tcp/*/p2p/* ]] || fail "the node printed no address (got '$address')"
grep -q "open-file limit: 1024 descriptors" "$work/node.log" || fail "the node did not log its open-file limit"

timeout 100 "$attack" run "$address" 2000 1100 >"$work/attack.out" 2>"$work/attack.err"
status=$?
cat "$work/attack.out"
((status == 0)) || fail "honest pings failed during the attacks (exit $status): $(tail -n 5 "$work/attack.err")"
kill -0 "$node_pid" 2>/dev/null || fail "the node died"
# `p2pmcp status` shows the resource scopes.
"$bin" status --home "$work/a" >"$work/status.out" 2>&1 || fail "p2pmcp status: $(cat "$work/status.out")"
grep -q "^limits system: connections [0-9]*/[0-9]*, handshakes" "$work/status.out" ||
  fail "p2pmcp status shows no system scope: $(cat "$work/status.out")"
grep -q "^limits transient: connections [0-9]*/[0-9]*, handshakes [0-9]*/64" "$work/status.out" ||
  fail "p2pmcp status shows no transient scope: $(cat "$work/status.out")"
lines=$(wc -l <"$work/node.log")
((lines < 400)) || fail "the node wrote $lines log lines during the attacks"
echo "PASS: every honest ping got through both attacks; the node logged $lines lines"
