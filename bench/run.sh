#!/usr/bin/env bash
# Switchboard against the peers, in one run on this machine: tool-call
# latency and throughput (direct, Switchboard over stdio and Streamable
# HTTP, supergateway, mcp-proxy from PyPI and npm, mcp-hub, magg), start-up
# with 1/15/50 connectors, sustained load from 64 client sessions, memory,
# and the PostgreSQL skill against its
# driver. Prints Markdown tables and writes them into BENCHMARKS.md
# (between its results markers; the prose around them is kept).
#
#   bench/run.sh                 # the full run (about 10 minutes on 2 cores)
#   bench/run.sh --quick         # small counts, for trying changes out
#   bench/run.sh --no-install    # use the peers already in bench/.peers
#
# Counts can be overridden: CALLS (timed sequential calls, 5000), WARMUP
# (1000), TPUT_CALLS (calls per throughput run, 5000), SOAK_CALLS
# (100000), STARTUP_RUNS (5), PHASE_SECONDS (60, the cap on any one
# phase), LOAD_SESSIONS (64) and LOAD_SECONDS (60) for the load run;
# BENCH_BIN_DIR skips the build and takes the four binaries from
# that directory. Needs cargo, node 20+ with npm, python3 >= 3.10 (magg needs
# 3.12+, found on PATH or under pyenv; skipped otherwise). Installs the
# peers into bench/.peers (gitignored) from npm and PyPI. Every process it
# starts is in its own process group and is killed on exit, whatever
# happens; every service is shut down. Traffic goes to 127.0.0.1 only.
set -euo pipefail
exec </dev/null

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=$repo/bench
peers=$bench/.peers
out_md=$repo/BENCHMARKS.md

quick=0 install=1
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    --no-install) install=0 ;;
    -h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
if ((quick)); then
  : "${CALLS:=500}" "${WARMUP:=100}" "${TPUT_CALLS:=500}" "${SOAK_CALLS:=5000}" "${STARTUP_RUNS:=2}"
  : "${LOAD_SECONDS:=10}"
fi
: "${LOAD_SESSIONS:=64}" "${LOAD_SECONDS:=60}"
: "${CALLS:=5000}" "${WARMUP:=1000}" "${TPUT_CALLS:=5000}" "${SOAK_CALLS:=100000}" "${STARTUP_RUNS:=5}"
: "${PHASE_SECONDS:=60}"
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}

# Pinned so that two runs compare the same peers.
SUPERGATEWAY=supergateway@4.0.0
MCP_HUB=mcp-hub@4.2.1
MCP_PROXY_NPM=mcp-proxy@6.7.19
MCP_PROXY_PYPI=mcp-proxy==0.13.0
MAGG=magg==1.3.0

started_s=$SECONDS
export RUST_BACKTRACE=0
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
say() { printf '==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }

work=$(mktemp -d /tmp/sb-bench.XXXXXX)
results=$work/results.jsonl
: >"$results"
pgroups=() # process groups we started
homes=()   # Switchboard sandboxes to shut down

cleanup() {
  local rc=$? pg home
  set +e
  for home in "${homes[@]}"; do
    SWITCHBOARD_HOME=$home/home SWITCHBOARD_SETTINGS=$home/settings.json \
      timeout 30 "$SB" shutdown >/dev/null 2>&1
  done
  for pg in "${pgroups[@]}"; do kill -TERM -- "-$pg" 2>/dev/null; done
  sleep 0.5
  for pg in "${pgroups[@]}"; do kill -KILL -- "-$pg" 2>/dev/null; done
  if ((rc != 0)); then
    echo "bench/run.sh failed (exit $rc); logs kept in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Records one result line: a JSON object with `section` and `name` added.
record() { # section name json
  python3 -c 'import json,sys; d=json.loads(sys.argv[3]); d["section"]=sys.argv[1]; d["name"]=sys.argv[2]; print(json.dumps(d))' \
    "$1" "$2" "$3" >>"$results"
}
record_fail() { # section name reason
  python3 -c 'import json,sys; print(json.dumps({"section":sys.argv[1],"name":sys.argv[2],"failed":" ".join(sys.argv[3].split())[-600:]}))' \
    "$1" "$2" "$3" >>"$results"
  note "$2: FAILED: ${3: -300}"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # port seconds
  local end=$((SECONDS + $2))
  until (: >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    ((SECONDS < end)) || return 1
    sleep 0.1
  done
}
# Starts a command in its own process group (so it and its children can be
# killed together); sets $last_pg.
start_group() { # log command...
  local log=$1
  shift
  setsid "$@" >"$log" 2>&1 &
  last_pg=$!
  pgroups+=("$last_pg")
}
stop_group() { # pgid
  kill -TERM -- "-$1" 2>/dev/null || true
  local end=$((SECONDS + 5))
  while kill -0 -- "-$1" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
  kill -KILL -- "-$1" 2>/dev/null || true
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# {"rss_kb", "anon_kb", "file_kb"} of one process: anonymous memory is what
# it allocated; file-backed pages are its code and libraries, shared and
# reclaimable.
rss_json() {
  awk '/^VmRSS:/ {r=$2} /^RssAnon:/ {a=$2} /^RssFile:/ {f=$2}
    END {printf "{\"rss_kb\":%d,\"anon_kb\":%d,\"file_kb\":%d}", r, a, f}' "/proc/$1/status" 2>/dev/null ||
    echo '{"rss_kb":0,"anon_kb":0,"file_kb":0}'
}
# {"rss_kb", "anon_kb", "file_kb"} of one process: anonymous memory is what
# it allocated; file-backed pages are its code and libraries, shared and
# reclaimable.
rss_json() {
  awk '/^VmRSS:/ {r=$2} /^RssAnon:/ {a=$2} /^RssFile:/ {f=$2}
    END {printf "{\"rss_kb\":%d,\"anon_kb\":%d,\"file_kb\":%d}", r, a, f}' "/proc/$1/status" 2>/dev/null ||
    echo '{"rss_kb":0,"anon_kb":0,"file_kb":0}'
}
# RSS of a process and all its descendants, in kB.
tree_rss_kb() {
  local total=0 pid
  for pid in $(pstree -p "$1" 2>/dev/null | grep -o '([0-9]*)' | tr -d '()'); do
    total=$((total + $(rss_kb "$pid")))
  done
  ((total > 0)) || total=$(rss_kb "$1")
  echo "$total"
}

# --- machine facts -------------------------------------------------------------

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
facts=$(python3 - "$load_before" <<'EOF'
import json, os, platform, subprocess, sys
def out(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as e:
        return f"unavailable ({e})"
cpu = "unknown"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError:
    pass
mem = "unknown"
try:
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            mem = f'{int(line.split()[1]) // 1024} MiB'; break
except OSError:
    pass
print(json.dumps({
    "nproc": os.cpu_count(), "cpu": cpu, "memory": mem, "kernel": platform.release(),
    "rustc": out("rustc", "--version"), "node": out("node", "--version"),
    "python": platform.python_version(), "load_before": sys.argv[1],
}))
EOF
)
record machine facts "$facts"
say "machine: $(nproc) cores, load average $load_before"

# --- build ---------------------------------------------------------------------

if [[ -n ${BENCH_BIN_DIR:-} ]]; then
  # Binaries built earlier and copied aside (switchboard, echo_server,
  # loadgen, skills): for trying the script out while src/ changes.
  say "using the binaries in $BENCH_BIN_DIR"
  SB=$BENCH_BIN_DIR/switchboard ECHO=$BENCH_BIN_DIR/echo_server
  LOADGEN=$BENCH_BIN_DIR/loadgen SKILLS_BENCH=$BENCH_BIN_DIR/skills
else
  say "building (release): switchboard, the echo backend, the load generator"
  (cd "$repo" && cargo build --release --quiet --bin switchboard --example echo_server)
  bench_bins=$(cd "$repo" && cargo bench --quiet --no-run --bench loadgen --bench skills --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    try: m = json.loads(line)
    except ValueError: continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "bench" in m["target"]["kind"]:
        print(m["target"]["name"], m["executable"])')
  LOADGEN=$(awk '$1=="loadgen" {print $2}' <<<"$bench_bins")
  SKILLS_BENCH=$(awk '$1=="skills" {print $2}' <<<"$bench_bins")
  SB=$repo/target/release/switchboard
  ECHO=$repo/target/release/examples/echo_server
fi
[[ -x $LOADGEN && -x $SKILLS_BENCH && -x $SB && -x $ECHO ]] || { echo "build failed: missing binaries" >&2; exit 1; }
EVERYTHING=$repo/tests/peers/node_modules/@modelcontextprotocol/server-everything/dist/index.js
[[ -f $EVERYTHING ]] || EVERYTHING=""

# --- peers ---------------------------------------------------------------------

mkdir -p "$peers"
declare -A peer_error=()
install_peers() {
  say "installing the peers into bench/.peers"
  export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
  if ! npm install --prefix "$peers/npm" --no-save --loglevel=error \
    "$SUPERGATEWAY" "$MCP_HUB" "$MCP_PROXY_NPM" >"$work/npm.log" 2>&1; then
    peer_error[npm]="npm install failed: $(tail -3 "$work/npm.log" | tr '\n' ' ')"
  fi
  if [[ ! -x $peers/venv/bin/python ]]; then
    python3 -m venv "$peers/venv" >"$work/venv.log" 2>&1 || peer_error[pypi]="python3 -m venv failed: $(tail -2 "$work/venv.log")"
  fi
  if [[ -x $peers/venv/bin/pip ]] && ! "$peers/venv/bin/pip" install -q --disable-pip-version-check \
    "$MCP_PROXY_PYPI" >"$work/pip.log" 2>&1; then
    peer_error[pypi]="pip install $MCP_PROXY_PYPI failed: $(tail -3 "$work/pip.log" | tr '\n' ' ')"
  fi
  # magg needs Python 3.12 or newer.
  local py312="" candidate
  for candidate in python3.13 python3.12 "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      py312=$(command -v "$candidate")
      break
    fi
  done
  if [[ -z $py312 ]]; then
    peer_error[magg]="magg needs Python >= 3.12; none found (PATH, pyenv)"
  else
    [[ -x $peers/venv312/bin/pip ]] || "$py312" -m venv "$peers/venv312" >"$work/venv312.log" 2>&1 || true
    if ! "$peers/venv312/bin/pip" install -q --disable-pip-version-check "$MAGG" >"$work/pip312.log" 2>&1; then
      peer_error[magg]="pip install $MAGG failed: $(tail -3 "$work/pip312.log" | tr '\n' ' ')"
    fi
  fi
}
((install)) && install_peers
NPM_BIN=$peers/npm/node_modules/.bin

# --- the Switchboard sandbox ---------------------------------------------------

new_sandbox() { # dir
  mkdir -p "$1/home"
  homes+=("$1")
}
sb() { SWITCHBOARD_HOME=$box/home SWITCHBOARD_SETTINGS=$box/settings.json "$SB" "$@"; }

box=$work/main
new_sandbox "$box"
say "Switchboard service (foreground serve, in its own process group)"
start_group "$work/serve.log" env SWITCHBOARD_HOME="$box/home" SWITCHBOARD_SETTINGS="$box/settings.json" "$SB" serve
serve_pg=$last_pg
for _ in $(seq 300); do [[ -S $box/home/gateway.sock && -f $box/home/http.json ]] && break; sleep 0.05; done
svc_pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$box/home/http.json" 2>/dev/null || echo "$serve_pg")
http_url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mcp_url"])' "$box/home/http.json" 2>/dev/null || true)
http_token_file=$box/home/http-token
http_pending=""
if [[ -z $http_url || ! -f $http_token_file ]]; then
  http_pending="the service wrote no http.json / http-token: the Streamable HTTP gateway is not in this build"
fi
sleep 1
rss_idle=$(rss_json "$svc_pid")
note "idle: $rss_idle (pid $svc_pid)"

say "connecting 15 echo connectors (e, m1..m14)"
sb add e --command "$ECHO" >/dev/null
sb connect e >/dev/null
for i in $(seq 14); do
  sb add "m$i" --command "$ECHO" >/dev/null
  sb connect "m$i" >/dev/null
done
sleep 1
rss_15=$(rss_json "$svc_pid")
note "with 15 connectors: $rss_15"
if [[ -n $EVERYTHING ]]; then
  sb add ev --command node "$EVERYTHING" stdio >/dev/null
  sb connect ev >/dev/null
fi

# --- latency and throughput ----------------------------------------------------

calls() { # name tool args loadgen-target-args...
  local name=$1 tool=$2 args=$3 json
  shift 3
  note "$name"
  if json=$("$LOADGEN" calls --label "$name" --tool "$tool" --arguments "$args" \
    --warmup "$WARMUP" --calls "$CALLS" --throughput-calls "$TPUT_CALLS" \
    --phase-seconds "$PHASE_SECONDS" --wait-tool-seconds 30 "$@" 2>"$work/loadgen.err"); then
    record "$section" "$name" "$json"
  else
    record_fail "$section" "$name" "$(tail -5 "$work/loadgen.err")"
  fi
}

# Runs the whole set of contenders against one backend (argv in $backend).
contenders() { # section connector
  section=$1
  local connector=$2 port log args='{"message":"hi"}'
  local backend_str
  backend_str=$(printf '%q ' "${backend[@]}")
  say "$section"
  calls "direct (stdio)" echo "$args" -- "${backend[@]}"
  calls "Switchboard, stdio (switchboard gateway)" "${connector}__echo" "$args" \
    -- "$SB" --home "$box/home" --settings "$box/settings.json" gateway
  calls "Switchboard's gateway socket, no stdio bridge (diagnostic)" "${connector}__echo" "$args" \
    --unix "$box/home/gateway.sock"
  if [[ -z $http_pending ]]; then
    calls "Switchboard, Streamable HTTP (/mcp), keep-alive" "${connector}__echo" "$args" \
      --http "$http_url" --token-file "$http_token_file"
    calls "Switchboard, Streamable HTTP (/mcp), new connection per call" "${connector}__echo" "$args" \
      --http "$http_url" --token-file "$http_token_file" --fresh-connection
  else
    record_fail "$section" "Switchboard, Streamable HTTP (/mcp)" "pending: $http_pending"
  fi

  # supergateway: stdio server -> Streamable HTTP, one child per session.
  if [[ -x $NPM_BIN/supergateway ]]; then
    port=$(free_port)
    log=$work/supergateway.log
    start_group "$log" "$NPM_BIN/supergateway" --stdio "$backend_str" --outputTransport streamableHttp \
      --stateful --port "$port" --logLevel none
    if wait_port "$port" 30; then
      calls "supergateway $SUPERGATEWAY (stateful Streamable HTTP, keep-alive)" echo "$args" --http "http://127.0.0.1:$port/mcp"
    else
      record_fail "$section" "supergateway" "did not listen: $(tail -3 "$log")"
    fi
    stop_group "$last_pg"
  else
    record_fail "$section" "supergateway" "not installed: ${peer_error[npm]:-}"
  fi

  # mcp-proxy (PyPI, Python): stdio server -> Streamable HTTP at /mcp.
  if [[ -x $peers/venv/bin/mcp-proxy ]]; then
    port=$(free_port)
    log=$work/mcp-proxy-py.log
    start_group "$log" "$peers/venv/bin/mcp-proxy" --host 127.0.0.1 --port "$port" -- "${backend[@]}"
    if wait_port "$port" 30; then
      calls "mcp-proxy $MCP_PROXY_PYPI (PyPI, Streamable HTTP, keep-alive)" echo "$args" --http "http://127.0.0.1:$port/mcp"
    else
      record_fail "$section" "mcp-proxy (PyPI)" "did not listen: $(tail -3 "$log")"
    fi
    stop_group "$last_pg"
  else
    record_fail "$section" "mcp-proxy (PyPI)" "not installed: ${peer_error[pypi]:-}"
  fi

  # mcp-proxy (npm, TypeScript): stdio server -> Streamable HTTP at /mcp.
  if [[ -x $NPM_BIN/mcp-proxy ]]; then
    port=$(free_port)
    log=$work/mcp-proxy-npm.log
    start_group "$log" "$NPM_BIN/mcp-proxy" --host 127.0.0.1 --port "$port" --server stream -- "${backend[@]}"
    if wait_port "$port" 30; then
      calls "mcp-proxy $MCP_PROXY_NPM (npm, Streamable HTTP, keep-alive)" echo "$args" --http "http://127.0.0.1:$port/mcp"
    else
      record_fail "$section" "mcp-proxy (npm)" "did not listen: $(tail -3 "$log")"
    fi
    stop_group "$last_pg"
  else
    record_fail "$section" "mcp-proxy (npm)" "not installed: ${peer_error[npm]:-}"
  fi

  # mcp-hub: a manager with one aggregate endpoint at /mcp.
  if [[ -x $NPM_BIN/mcp-hub ]]; then
    port=$(free_port)
    log=$work/mcp-hub.log
    python3 -c 'import json,sys; print(json.dumps({"mcpServers":{sys.argv[1]:{"command":sys.argv[2],"args":sys.argv[3:]}}}))' \
      "$connector" "${backend[@]}" >"$work/mcp-hub.json"
    mkdir -p "$work/mcp-hub-home"
    start_group "$log" env HOME="$work/mcp-hub-home" XDG_STATE_HOME="$work/mcp-hub-home" \
      "$NPM_BIN/mcp-hub" --port "$port" --config "$work/mcp-hub.json"
    if wait_port "$port" 30; then
      # 4.2.1 serves its /mcp endpoint with the legacy HTTP+SSE transport
      # (GET /mcp, POST /messages), whatever its README says.
      calls "mcp-hub $MCP_HUB (aggregate, HTTP+SSE at /mcp)" echo "$args" --sse "http://127.0.0.1:$port/mcp"
    else
      record_fail "$section" "mcp-hub" "did not listen: $(tail -3 "$log")"
    fi
    stop_group "$last_pg"
  else
    record_fail "$section" "mcp-hub" "not installed: ${peer_error[npm]:-}"
  fi

  # magg: an aggregator over stdio, like `switchboard gateway`.
  if [[ -x $peers/venv312/bin/magg ]]; then
    local cfg=$work/magg-$connector.json
    rm -f "$cfg"
    if "$peers/venv312/bin/magg" --config "$cfg" server add "$connector" local --command "$backend_str" \
      --prefix "$connector" >"$work/magg-add.log" 2>&1; then
      calls "magg $MAGG (aggregator, stdio)" echo "$args" \
        -- env MAGG_CONFIG_PATH="$cfg" MAGG_READ_ONLY=true "$peers/venv312/bin/magg" --config "$cfg" serve --no-banner
    else
      record_fail "$section" "magg" "server add failed: $(tail -3 "$work/magg-add.log")"
    fi
  else
    record_fail "$section" "magg" "not installed: ${peer_error[magg]:-}"
  fi
}

backend=("$ECHO")
contenders "calls: echo backend (rmcp, stdio)" e
if [[ -n $EVERYTHING ]]; then
  backend=(node "$EVERYTHING" stdio)
  contenders "calls: server-everything backend (node, stdio)" ev
fi

# --- load ----------------------------------------------------------------------

# Many clients at once, each its own `switchboard gateway` process and MCP
# session, calling in a loop: what a busy machine sees (issue 10).
say "load: $LOAD_SESSIONS gateway sessions over stdio for $LOAD_SECONDS s"
section=load
if json=$("$LOADGEN" sessions --label "$LOAD_SESSIONS sessions, stdio (switchboard gateway)" --tool e__echo \
  --sessions "$LOAD_SESSIONS" --seconds "$LOAD_SECONDS" \
  -- "$SB" --home "$box/home" --settings "$box/settings.json" gateway 2>"$work/load.err"); then
  record load stdio "$json"
else
  record_fail load stdio "$(tail -5 "$work/load.err")"
fi

# --- memory --------------------------------------------------------------------

say "memory: $SOAK_CALLS calls through the gateway"
rss_before_soak=$(rss_json "$svc_pid")
section=memory
soak() { # name target-args...
  local name=$1 json
  shift
  if json=$("$LOADGEN" calls --label "$name" --tool e__echo --warmup 0 --calls 0 --concurrency 8 \
    --throughput-calls "$SOAK_CALLS" --phase-seconds 300 "$@" 2>"$work/soak.err"); then
    record memory "$name" "$json"
  else
    record_fail memory "$name" "$(tail -5 "$work/soak.err")"
  fi
}
soak "soak, stdio" -- "$SB" --home "$box/home" --settings "$box/settings.json" gateway
rss_after_stdio=$(rss_json "$svc_pid")
if [[ -z $http_pending ]]; then
  soak "soak, Streamable HTTP" --http "$http_url" --token-file "$http_token_file"
fi
sleep 1
rss_after_soak=$(rss_json "$svc_pid")
record memory rss "$(printf '{"idle":%s,"connected_15":%s,"before_soak":%s,"after_stdio_soak":%s,"after_soak":%s,"soak_calls":%s,"http":%s}' \
  "$rss_idle" "$rss_15" "$rss_before_soak" "$rss_after_stdio" "$rss_after_soak" "$SOAK_CALLS" "$([[ -z $http_pending ]] && echo true || echo false)")"

# --- skills --------------------------------------------------------------------

say "skills: PostgreSQL, select 1"
section=skills
if pg_out=$("$SKILLS_BENCH" --url "$PG_URL" --calls "$CALLS" 2>"$work/skills.err"); then
  record skills driver "$pg_out"
else
  record_fail skills driver "$(tail -5 "$work/skills.err")"
fi
if sb connect postgres --backend skill --set "url=$PG_URL" >"$work/pg-connect.log" 2>&1; then
  q='{"sql":"select 1"}'
  calls "skill through the gateway, stdio" postgres__query "$q" --concurrency 1,8 \
    -- "$SB" --home "$box/home" --settings "$box/settings.json" gateway
  if [[ -z $http_pending ]]; then
    calls "skill through the gateway, Streamable HTTP" postgres__query "$q" --concurrency 1,8 \
      --http "$http_url" --token-file "$http_token_file"
  fi
  # The CLI, one process per call (what a script pays).
  cli_ms=()
  for _ in $(seq 20); do
    t0=$(now_ms)
    sb call postgres query "$q" >/dev/null
    cli_ms+=($(($(now_ms) - t0)))
  done
  record skills cli "$(printf '%s\n' "${cli_ms[@]}" | sort -n | python3 -c 'import json,sys; v=[int(x) for x in sys.stdin]; print(json.dumps({"runs":len(v),"p50_ms":v[len(v)//2],"min_ms":v[0]}))')"
  sb disconnect postgres >/dev/null 2>&1 || true
else
  record_fail skills gateway "switchboard connect postgres failed: $(tail -3 "$work/pg-connect.log")"
fi

stop_group "$serve_pg" # the main service; its sandbox is shut down again on exit

# --- start-up ------------------------------------------------------------------

say "start-up: 1, 15 and 50 native connectors"
box=$work/startup
new_sandbox "$box"
sb add s0 --command "$ECHO" >/dev/null # so the service has started once
sb shutdown >/dev/null
startup() { # name expect
  local json
  if json=$("$LOADGEN" startup --switchboard "$SB" --home "$box/home" --settings "$box/settings.json" \
    --prefix b --expect "$2" --runs "$STARTUP_RUNS" 2>"$work/startup.err"); then
    record startup "$1" "$json"
  else
    record_fail startup "$1" "$(tail -5 "$work/startup.err")"
  fi
}
startup "empty" 0
for i in $(seq 50); do sb add "b$i" --command "$ECHO" >/dev/null; done
sb shutdown >/dev/null
startup "50 defined, none to start" 0
connected=0
for n in 1 15 50; do
  for i in $(seq $((connected + 1)) "$n"); do sb connect "b$i" >/dev/null; done
  connected=$n
  sb shutdown >/dev/null
  startup "$n connected" "$n"
  if json=$("$LOADGEN" backend-start --n "$n" -- "$ECHO" 2>"$work/backend-start.err"); then
    record startup "backends $n" "$json"
  else
    record_fail startup "backends $n" "$(tail -5 "$work/backend-start.err")"
  fi
done
sb shutdown >/dev/null || true

# --- report --------------------------------------------------------------------

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
record machine after "$(printf '{"load_after":"%s","seconds":%d}' "$load_after" $((SECONDS - started_s)))"
for key in "${!peer_error[@]}"; do record_fail peers "$key" "${peer_error[$key]}"; done
python3 "$bench/report.py" "$results" "$out_md" $((quick))
say "done in $((SECONDS - started_s)) s; tables written to BENCHMARKS.md"
