#!/usr/bin/env bash
# Checks that a command speaks MCP over stdio: starts it, sends `initialize`,
# waits for the reply, sends `notifications/initialized` and `tools/list`,
# waits for that reply, then closes the peer's stdin and waits (bounded) for
# it to exit. Every line the peer writes is echoed to stdout; timings and the
# verdict go to stderr. Exit 0 only if both replies arrived as results.
#
#   tests/support/mcp-stdio-probe.sh [--timeout SECONDS] -- CMD [ARGS...]
#   e.g. tests/support/mcp-stdio-probe.sh -- docker run -i --rm --init mcp/github
#
# Lines are matched by their `"id":N` member (newline-delimited JSON-RPC), so
# notifications the peer sends first (server-everything sends
# `notifications/tools/list_changed` before its initialize reply) are skipped.
set -euo pipefail

timeout_s=20   # whole exchange, start to tools/list reply
exit_grace_s=5 # after stdin is closed, how long the peer may take to exit

while (($#)); do
  case $1 in
    --timeout) timeout_s=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
(($#)) || { echo "usage: $0 [--timeout SECONDS] -- CMD [ARGS...]" >&2; exit 2; }

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
say() { printf 'probe: %s\n' "$*" >&2; }

start_ms=$(now_ms)
deadline_ms=$((start_ms + timeout_s * 1000))

coproc PEER { exec "$@"; }
# shellcheck disable=SC2153 # PEER_PID is set by coproc
peer_pid=$PEER_PID
peer_in=${PEER[1]}
peer_out=${PEER[0]}

stop_peer() {
  if kill -0 "$peer_pid" 2>/dev/null; then kill -KILL "$peer_pid" 2>/dev/null || true; fi
}
fail() { say "FAIL: $*"; stop_peer; exit 1; }

send() { printf '%s\n' "$1" >&"$peer_in" || fail "could not write to the peer (exited?)"; }

# Reads lines until the reply with the given id; fails on deadline, EOF or error.
await_reply() {
  local id=$1 line left_ms
  while :; do
    left_ms=$((deadline_ms - $(now_ms)))
    ((left_ms > 0)) || fail "no reply to id $id within ${timeout_s}s"
    if ! IFS= read -r -t "$((left_ms / 1000)).$(printf '%03d' $((left_ms % 1000)))" -u "$peer_out" line 2>/dev/null; then
      fail "peer closed stdout or stayed silent while awaiting id $id"
    fi
    printf '%s\n' "$line"
    if [[ $line =~ \"id\":[[:space:]]*${id}[,}] ]]; then
      [[ $line == *'"result":'* ]] || fail "reply to id $id is not a result"
      return 0
    fi
  done
}

send '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"switchboard-probe","version":"0"}}}'
await_reply 1
init_ms=$(now_ms)
send '{"jsonrpc":"2.0","method":"notifications/initialized"}'
send '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
await_reply 2
list_ms=$(now_ms)
say "initialize reply after $((init_ms - start_ms)) ms, tools/list after $((list_ms - start_ms)) ms"

# Close the peer's stdin: a well-behaved stdio server exits on EOF.
exec {peer_in}>&-
exit_deadline_ms=$(($(now_ms) + exit_grace_s * 1000))
while kill -0 "$peer_pid" 2>/dev/null && (($(now_ms) < exit_deadline_ms)); do
  sleep 0.02 # poll interval; the deadline above bounds the wait
done
if kill -0 "$peer_pid" 2>/dev/null; then
  say "peer still running ${exit_grace_s}s after stdin closed; killing it"
  stop_peer
  exit 1
fi
rc=0
wait "$peer_pid" || rc=$?
say "peer exited with status $rc $(($(now_ms) - list_ms)) ms after stdin closed"
say "OK"
