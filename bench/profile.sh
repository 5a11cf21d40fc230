#!/usr/bin/env bash
# Where a gateway call's time goes: CPU time and context switches per call
# in each process on the path (the `switchboard gateway` bridge, the
# service), for the direct path, the gateway socket without the bridge,
# the full stdio path and Streamable HTTP with a keep-alive client; then the
# service's hottest symbols and crates (perf) and,
# with --callgrind, its instructions per call (stable on a noisy machine).
#
#   bench/profile.sh [--callgrind] [CALLS]      # CALLS defaults to 5000
#
# Uses the binaries bench/run.sh builds (or BENCH_BIN_DIR), perf from
# linux-perf and, for --callgrind, valgrind. A throw-away sandbox; the
# service is shut down on exit.
set -euo pipefail
exec </dev/null

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
callgrind=0
calls=5000
for arg in "$@"; do
  case $arg in
    --callgrind) callgrind=1 ;;
    [0-9]*) calls=$arg ;;
    *) echo "usage: bench/profile.sh [--callgrind] [CALLS]" >&2; exit 2 ;;
  esac
done
export RUST_BACKTRACE=0
if [[ -n ${BENCH_BIN_DIR:-} ]]; then
  SB=$BENCH_BIN_DIR/switchboard ECHO=$BENCH_BIN_DIR/echo_server LOADGEN=$BENCH_BIN_DIR/loadgen
else
  (cd "$repo" && cargo build --release --quiet --bin switchboard --example echo_server)
  LOADGEN=$(cd "$repo" && cargo bench --quiet --no-run --bench loadgen --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    try: m = json.loads(line)
    except ValueError: continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "loadgen":
        print(m["executable"])')
  SB=$repo/target/release/switchboard ECHO=$repo/target/release/examples/echo_server
fi
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 1; }

work=$(mktemp -d /tmp/sb-profile.XXXXXX)
export SWITCHBOARD_HOME=$work/home SWITCHBOARD_SETTINGS=$work/settings.json
cleanup() {
  "$SB" shutdown >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$SWITCHBOARD_HOME"
"$SB" add e --command "$ECHO" >/dev/null
"$SB" connect e >/dev/null
svc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$SWITCHBOARD_HOME/http.json")

# perf stat of one process while `loadgen` makes $calls sequential calls;
# prints CPU µs and context switches per call.
per_call() { # label stat-file
  python3 - "$1" "$2" "$calls" <<'EOF'
import re, sys
label, path, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(path).read()
def num(event):
    m = re.search(r"([\d.,]+)\s+(?:msec\s+)?" + re.escape(event), text)
    return float(m.group(1).replace(",", "")) if m else float("nan")
cpu_ms, switches = num("task-clock"), num("context-switches")
print(f"| {label} | {cpu_ms * 1000 / calls:.1f} | {switches / calls:.1f} |")
EOF
}
run_calls() { # target args...
  "$LOADGEN" calls --label p --tool "$1" --warmup 0 --calls "$calls" --concurrency 0 "${@:2}" |
    python3 -c 'import json,sys; d=json.load(sys.stdin)["latency"]; print("    p50", d["p50_us"], "µs, p99", d["p99_us"], "µs")' >&2
}
stat_service() { # file: attaches to the service for the duration of the command that follows
  perf stat -e task-clock,context-switches -p "$svc" -o "$1" &
  stat_pid=$!
  sleep 0.2
}

echo "| process, path | CPU µs per call | context switches per call |"
echo "| --- | ---: | ---: |"
# Warm the service up.
"$LOADGEN" calls --label w --tool e__echo --warmup 1000 --calls 0 --concurrency 0 --unix "$SWITCHBOARD_HOME/gateway.sock" >/dev/null

perf stat -e task-clock,context-switches -o "$work/direct-backend.stat" -- \
  "$LOADGEN" calls --label p --tool echo --warmup 0 --calls "$calls" --concurrency 0 -- "$ECHO" >/dev/null
per_call "client (loadgen) + echo backend, direct" "$work/direct-backend.stat"

stat_service "$work/svc-unix.stat"
run_calls e__echo --unix "$SWITCHBOARD_HOME/gateway.sock"
kill -INT "$stat_pid"; wait "$stat_pid" 2>/dev/null || true
per_call "service, gateway socket (no bridge)" "$work/svc-unix.stat"

stat_service "$work/svc-stdio.stat"
run_calls e__echo -- perf stat -e task-clock,context-switches -o "$work/bridge.stat" \
  "$SB" --home "$SWITCHBOARD_HOME" --settings "$SWITCHBOARD_SETTINGS" gateway
kill -INT "$stat_pid"; wait "$stat_pid" 2>/dev/null || true
per_call "service, stdio via \`switchboard gateway\`" "$work/svc-stdio.stat"
per_call "\`switchboard gateway\` bridge" "$work/bridge.stat"

mcp_url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mcp_url"])' "$SWITCHBOARD_HOME/http.json")
http=(--http "$mcp_url" --token-file "$SWITCHBOARD_HOME/http-token")
stat_service "$work/svc-http.stat"
run_calls e__echo "${http[@]}"
kill -INT "$stat_pid"; wait "$stat_pid" 2>/dev/null || true
per_call "service, Streamable HTTP (/mcp), keep-alive" "$work/svc-http.stat"

hottest() { # title loadgen-args...
  echo
  echo "Service, hottest symbols over $calls calls $1 (perf record, self time):"
  perf record -F 4999 -p "$svc" -o "$work/perf.data" >/dev/null 2>&1 &
  rec=$!
  sleep 0.2
  run_calls e__echo "${@:2}"
  kill -INT "$rec"; wait "$rec" 2>/dev/null || true
  perf report -i "$work/perf.data" --no-children --sort dso,symbol --percent-limit 0.7 --stdio 2>/dev/null |
    grep -v '^#' | grep -v '^$' | cut -c1-150 | head -30
  echo "  the same, self time summed by crate (kernel: syscalls, wake-ups, context switches):"
  perf report -i "$work/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep '%' |
    python3 -c '
import collections, re, sys
by = collections.Counter()
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+\[(.)\]\s+(.*)", line)
    if not m:
        continue
    share, kind, symbol = float(m.group(1)), m.group(2), m.group(3)
    crate = re.search(r"(?:<|^|\s)([a-z_][a-z0-9_]*)::", symbol)
    if kind == "k":
        key = "kernel"
    elif crate:
        key = crate.group(1)
    elif re.search(r"malloc|free|memmove|memcpy|memset|memcmp|realloc", symbol):
        key = "libc allocator and copies"
    else:
        key = "other"
    by[key] += share
for key, share in by.most_common(12):
    print(f"    {share:6.2f}%  {key}")'
}
hottest "through the bridge" -- "$SB" --home "$SWITCHBOARD_HOME" --settings "$SWITCHBOARD_SETTINGS" gateway
hottest "over Streamable HTTP, keep-alive" "${http[@]}"

if ((callgrind)); then
  command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
  n=$((calls / 10))
  echo
  echo "Service under callgrind: instructions per call ($n calls per path, counters zeroed before each)"
  "$SB" shutdown >/dev/null
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$SB" serve >/dev/null 2>"$work/cg.log" &
  cg=$!
  for _ in $(seq 600); do [[ -S $SWITCHBOARD_HOME/gateway.sock ]] && break; sleep 0.1; done
  for _ in $(seq 600); do
    "$SB" status e --json 2>/dev/null | grep -q '"connected"' && break
    sleep 0.2
  done
  mcp_url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mcp_url"])' "$SWITCHBOARD_HOME/http.json")
  measure() { # name loadgen-target-args...
    # A warm-up call first (the first call on a path builds lazily).
    "$LOADGEN" calls --label w --tool e__echo --warmup 5 --calls 0 --concurrency 0 "${@:2}" >/dev/null
    callgrind_control --zero "$cg" >/dev/null
    "$LOADGEN" calls --label w --tool e__echo --warmup 0 --calls "$n" --concurrency 0 \
      --call-timeout-seconds 60 "${@:2}" >/dev/null
    callgrind_control --dump="$1" "$cg" >/dev/null
  }
  measure socket --unix "$SWITCHBOARD_HOME/gateway.sock"
  measure http --http "$mcp_url" --token-file "$SWITCHBOARD_HOME/http-token"
  "$SB" shutdown >/dev/null
  wait "$cg" 2>/dev/null || true
  # Each dump holds one path's calls plus its session's connect, list and
  # close (a few calls' worth), so the figure is a little high.
  for f in "$work"/cg.out.*; do
    [[ $(head -c 200 "$f") == *callgrind* ]] || continue
    desc=$(grep -m1 '^desc: Trigger' "$f" | sed 's/^desc: Trigger: //')
    total=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
    [[ -n $total ]] && echo "  $desc: $((total / n)) instructions per call"
  done
fi
