#!/usr/bin/env bash
# Memory test (issue 8): a hostile peer (flood_peer) connects to a node and announces
# 1500 MCP servers with 1000 tools each. Untrusted, the node fetches nothing and keeps
# only the first "serversPerPeer" (32) names; trusted, it keeps at most "itemsPerList"
# (512) tools per server. The node's RSS growth (VmRSS in /proc/<pid>/status) must stay
# within a bound derived from those caps, and each cap logs one line per list.
# Loopback only; every wait is bounded (polling, no sleeping).
# Usage: flood_test.sh <path to p2pmcp> <path to flood_peer>
set -uo pipefail
bin=$1
flood=$2
work=$(mktemp -d)
node_pid=
flood_pid=
cleanup() {
  [[ -n "$flood_pid" ]] && kill -9 "$flood_pid" 2>/dev/null
  [[ -n "$node_pid" ]] && kill -9 "$node_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

servers=1500 tools=1000
servers_cap=32 tools_cap=512  # the defaults of "limits" (docs/protocol.md)

fail() {
  echo "FAIL: $*"
  echo "----- last lines of the node's log"
  tail -n 40 "$work/node.log"
  exit 1
}
# eventually <seconds> <command...>: polls the command until it succeeds or time is up.
eventually() {
  local deadline=$((SECONDS + $1)); shift
  while ((SECONDS < deadline)); do "$@" && return 0; done
  return 1
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$node_pid/status"; }

coproc NODE { exec "$bin" up --home "$work/a" --listen /ip4/127.0.0.1/tcp/0 --gateway 127.0.0.1:0 --log-level info 2>"$work/node.log"; }
node_pid=$NODE_PID
read -r -t 30 -u "${NODE[0]}" _header
read -r -t 30 -u "${NODE[0]}" _listening
read -r -t 30 -u "${NODE[0]}" address
address=${address// /}
[[ "$address" == /ip4/127.0.0.1/tcp/*/p2p/* ]] || fail "the node printed no address (got '$address')"
# Warm up what the checks below use (gateway sessions, the CLI's requests).
"$bin" tools --json --home "$work/a" >/dev/null || fail "p2pmcp tools against the node"
"$bin" peers --json --home "$work/a" >/dev/null || fail "p2pmcp peers against the node"
rss0=$(rss_kib)

mkfifo "$work/flood.in" "$work/flood.out"
"$flood" "$address" "$servers" "$tools" <"$work/flood.in" >"$work/flood.out" 2>"$work/flood.log" &
flood_pid=$!
exec {flood_input}>"$work/flood.in"   # flood_peer runs until this closes
exec {flood_output}<"$work/flood.out"
read -r -t 30 -u "$flood_output" flood_id
[[ "$flood_id" == 12D3KooW* ]] || fail "flood_peer printed no peer ID (got '$flood_id'; $(cat "$work/flood.log"))"

offered() { "$bin" peers --json --home "$work/a" | grep -o "\"$flood_id\"[^}]*" | grep -o '"s[0-9]*"' | wc -l; }
capped_servers() { [[ $(offered) -eq $servers_cap ]]; }
eventually 60 capped_servers || fail "the node did not list $servers_cap servers of the flooding peer (got $(offered))"
tool_count() { "$bin" tools --json --home "$work/a" | grep -o '_read_secrets_[0-9]*"' | wc -l; }
[[ $(tool_count) -eq 0 ]] || fail "tools of an untrusted peer reached the gateway"
[[ $(grep -c "ignoring the $((servers - servers_cap)) beyond the cap of $servers_cap per peer" "$work/node.log") -eq 1 ]] ||
  fail "no single log line for the servers beyond the cap"
[[ $(grep -c "^stream opened" "$work/flood.log") -eq 0 ]] || fail "the node opened MCP streams to an untrusted peer"
rss1=$(rss_kib)

"$bin" trust add "$flood_id" --home "$work/a" | grep -q "told the running node" || fail "trust add did not reach the node"
lists_capped() { [[ $(grep -c "dropped $((tools - tools_cap)) of $tools tools from" "$work/node.log") -eq $servers_cap ]]; }
eventually 60 lists_capped ||
  fail "expected one 'dropped $((tools - tools_cap)) of $tools tools' line per server ($servers_cap), got $(grep -c "dropped .* tools from" "$work/node.log")"
listed=0
all_listed() { listed=$(tool_count); [[ $listed -eq $((servers_cap * tools_cap)) ]]; }
eventually 60 all_listed || fail "the gateway lists $listed tools of the trusted flooding peer, not $((servers_cap * tools_cap))"
rss2=$(rss_kib)
streams=$(grep -c "^stream opened" "$work/flood.log")
((streams == servers_cap)) || fail "the node opened $streams MCP streams to the trusted peer, not $servers_cap"

# The bound: what the caps let one peer keep (servers x tools x the size of one of its
# tools as JSON), times 16 for parsed JSON, the hub's index and the gateway's answers,
# plus 32 MiB of slack for allocator and buffers. Without the caps the same peer would
# put 1500 x 1000 tools there (~90x more).
tool_bytes=330
kept_kib=$((servers_cap * tools_cap * tool_bytes / 1024))
bound_untrusted=$((16 * 1024))
bound_trusted=$((16 * kept_kib + 32 * 1024))
echo "RSS: start $rss0 KiB; untrusted flood +$((rss1 - rss0)) KiB (bound $bound_untrusted); trusted and capped +$((rss2 - rss0)) KiB (bound $bound_trusted; uncapped would keep ~$((servers * tools * tool_bytes / 1024)) KiB of tools alone)"
((rss1 - rss0 <= bound_untrusted)) || fail "an untrusted peer's flood grew the node by $((rss1 - rss0)) KiB"
((rss2 - rss0 <= bound_trusted)) || fail "a trusted peer's flood grew the node by $((rss2 - rss0)) KiB"

exec {flood_input}>&-
wait "$flood_pid" 2>/dev/null
flood_pid=
kill -TERM "$node_pid"
wait "$node_pid"; rc=$?
node_pid=
((rc == 0)) || fail "the node did not stop cleanly (exit $rc)"
echo "flood: passed"
