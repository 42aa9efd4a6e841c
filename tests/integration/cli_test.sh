#!/usr/bin/env bash
# End-to-end test of the p2pmcp command line: two nodes on loopback (port 0), ping,
# identify, perf, the identity file, trust/pair and the node's reload on SIGHUP, clear
# errors with the right exit status, and a clean shutdown on SIGTERM. Usage: cli_test.sh <path to p2pmcp>
set -uo pipefail
bin=$1
work=$(mktemp -d)
node_pid=
cleanup() { [[ -n "$node_pid" ]] && kill -9 "$node_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

passed=0
failed=0
check() {  # check <description> <command...>: the command must succeed
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else echo "FAIL: $what"; failed=$((failed + 1)); fi
}
# eventually <command...>: polls the command (up to 200 tries, no sleeping) until it succeeds
eventually() {
  local i
  for ((i = 0; i < 200; i++)); do "$@" && return 0; done
  return 1
}
# expect_failure <description> <exit status> <text in stderr> <p2pmcp args...>
expect_failure() {
  local what=$1 status=$2 text=$3; shift 3
  local err rc
  err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?
  if [[ $rc -eq $status && "$err" == *"$text"* && $(wc -l <<<"$err") -eq 1 ]]; then
    passed=$((passed + 1))
  else
    echo "FAIL: $what: exit $rc (want $status), stderr: $err"
    failed=$((failed + 1))
  fi
}

# Start node A and read its address from its first output lines (no sleeping).
coproc NODE { exec "$bin" up --home "$work/a" --listen /ip4/127.0.0.1/tcp/0 --gateway 127.0.0.1:0 --log-level warn; }
node_pid=$NODE_PID
out=${NODE[0]}
read -r -t 30 -u "$out" header
read -r -t 30 -u "$out" _listening
read -r -t 30 -u "$out" address
address=${address// /}
check "node prints a full multiaddr" grep -qE '^/ip4/127\.0\.0\.1/tcp/[0-9]+/p2p/12D3KooW' <<<"$address"
check "header names the peer ID" grep -q "node 12D3KooW" <<<"$header"

peer=${address##*/p2p/}
check "id prints the same peer ID" test "$("$bin" id --home "$work/a")" = "$peer"
check "identity file has mode 0600" test "$(stat -c %a "$work/a/identity.key")" = 600

check "ping succeeds" bash -c "'$bin' ping '$address' --count 2 --home '$work/b' | grep -c '^pong' | grep -qx 2"
dns_address=${address/\/ip4\/127.0.0.1\//\/dns4\/localhost\/}  # localhost: from /etc/hosts, no DNS query
check "ping a /dns4 name" bash -c "'$bin' ping '$dns_address' --count 1 --home '$work/b' | grep -q '^pong'"
check "identify shows agent and protocols" bash -c "'$bin' identify '$address' --json --home '$work/b' | grep -q '\"agentVersion\":\"p2pmcp/'"
check "identify lists ping" bash -c "'$bin' identify '$address' --home '$work/b' | grep -q '/ipfs/ping/1.0.0'"
check "perf moves bytes both ways" bash -c "'$bin' perf '$address' --upload 8M --download 8M --json --home '$work/b' | grep -q '\"downloadBytes\":8388608'"

expect_failure "malformed multiaddr" 2 "is not a valid multiaddr" ping /ip4/999.1.1.1/tcp/1
expect_failure "unknown option" 2 "unknown option" ping --frobnicate
expect_failure "wrong peer ID" 1 "not the peer named in the address" \
  ping "${address%/p2p/*}/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA" --home "$work/b"
# An address nobody listens on: start a second node, note its address, stop it.
mkfifo "$work/other.out"
"$bin" up --home "$work/c" --listen /ip4/127.0.0.1/tcp/0 --no-gateway --log-level off >"$work/other.out" &
other_pid=$!
exec {other}<"$work/other.out"
read -r -t 30 -u "$other" _; read -r -t 30 -u "$other" _; read -r -t 30 -u "$other" port_free_address
kill -TERM "$other_pid"; wait "$other_pid"
exec {other}<&-
port_free_address=${port_free_address// /}
expect_failure "unreachable address" 1 "connection refused" ping "$port_free_address" --home "$work/b" --timeout 10
mkdir -p "$work/corrupt" && echo "not a key" >"$work/corrupt/identity.key" && chmod 600 "$work/corrupt/identity.key"
expect_failure "corrupt key file" 1 "not a libp2p private key" id --home "$work/corrupt"
check "corrupt key file left untouched" grep -q "not a key" "$work/corrupt/identity.key"

# The MCP commands find the running node through its node.json (written before the
# address lines above were printed).
check "node.json names the gateway" grep -q '"gateway": "http://127.0.0.1:' "$work/a/node.json"
check "tools lists the built-in tools" bash -c "'$bin' tools --home '$work/a' | grep -q '^local_node_info'"
check "call local_node_info shows the peer ID" bash -c "'$bin' call local_node_info '{}' --home '$work/a' | grep -q '$peer'"
check "peers --json is JSON" bash -c "'$bin' peers --json --home '$work/a' | grep -q '\"peers\"'"
check "status shows the peer ID and the gateway" bash -c "'$bin' status --home '$work/a' | grep -q '^peer ID: $peer' && '$bin' status --home '$work/a' | grep -q '^gateway: http://127.0.0.1:'"
check "status --json names the hosted servers" bash -c "'$bin' status --json --home '$work/a' | grep -q '\"servers\":\['"
check "status says when only the built-in server is hosted" bash -c "'$bin' status --home '$work/a' | grep -q '^servers: none from the config'"
expect_failure "status without a running node" 1 "no p2pmcp node is running" status --home "$work/nobody"
expect_failure "call with arguments that are not JSON" 2 "JSON" call local_node_ping '{peer' --home "$work/a"
expect_failure "call of an unknown tool" 1 "unknown tool" call nobody_x_y '{}' --home "$work/a"
expect_failure "tools without a running node" 1 "no p2pmcp node is running" tools --home "$work/nobody"
# Trust: kept in HOME/trust.json (mode 0600); the running node is told to reload it.
other_peer=12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA
check "trust add tells the running node" bash -c "'$bin' trust add $other_peer --name desk --home '$work/a' | grep -q 'trusted peer $other_peer (desk) .*told the running node (pid $node_pid)'"
check "trust.json has mode 0600" test "$(stat -c %a "$work/a/trust.json")" = 600
check "trust list --json shows the entry" bash -c "'$bin' trust list --json --home '$work/a' | grep -q '\"name\":\"desk\"'"
check "the node reloads on SIGHUP" eventually bash -c "'$bin' peers --json --home '$work/a' | grep -q '\"alias\":\"desk\"[^}]*\"trusted\":true'"
check "trust add again changes nothing" bash -c "'$bin' trust add $other_peer --home '$work/a' | grep -q 'already trusted'"
check "trust remove by name" bash -c "'$bin' trust remove desk --home '$work/a' | grep -q 'no longer trusting peer $other_peer (desk)'"
check "trust without a node running" bash -c "'$bin' trust add $other_peer --home '$work/offline' | grep -q 'no node is running'"
expect_failure "trust an unknown alias" 1 "no peer has the alias 'nobody'" trust add nobody --home "$work/a"
expect_failure "trust an alias with no node running" 1 "give the full peer ID" trust add nobody --home "$work/offline"
expect_failure "trust without a subcommand" 2 "trust needs a subcommand" trust --home "$work/a"
expect_failure "pair without a peer ID" 2 "does not name its peer" pair /ip4/127.0.0.1/tcp/1 --home "$work/a"
expect_failure "trust add with a bad name" 2 "a name is 1-32" trust add $other_peer --name local --home "$work/a"
echo '{"peers": [{"id": "nope"}]}' >"$work/offline/trust.json"
expect_failure "a broken trust file" 1 "peers[0].id: 'nope' is not a peer ID" trust list --home "$work/offline"
check "status prints the line that pairs another node" bash -c "'$bin' status --home '$work/a' | grep -q '^to pair with this node, run on the other one: p2pmcp pair /ip4/127.0.0.1/tcp/[0-9]*/p2p/$peer'"

mkdir -p "$work/badcfg"
echo '{"mcpServers": {"node": {"command": "true"}}}' >"$work/badcfg/reserved.json"
expect_failure "reserved server name" 1 "reserved" up --home "$work/badcfg" --config "$work/badcfg/reserved.json" --listen /ip4/127.0.0.1/tcp/0 --no-gateway --log-level warn
echo '{"p2pmcp": {"gateway": {"prot": 1}}}' >"$work/badcfg/typo.json"
expect_failure "unknown node setting" 1 "p2pmcp.gateway.prot is not a gateway setting" up --home "$work/badcfg" --config "$work/badcfg/typo.json" --listen /ip4/127.0.0.1/tcp/0 --log-level warn

# Restarting keeps the identity; SIGTERM ends the node cleanly.
kill -TERM "$node_pid"
wait "$node_pid"; rc=$?
node_pid=
check "SIGTERM exits 0 (got $rc)" test "$rc" -eq 0
check "restart keeps the identity" test "$("$bin" id --home "$work/a")" = "$peer"
check "clean shutdown removes node.json" test ! -e "$work/a/node.json"

echo "cli: $passed passed, $failed failed"
(( failed == 0 ))
