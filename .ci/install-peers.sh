#!/usr/bin/env bash
# Installs and starts everything switchboard's tests talk to, on a Debian 12
# machine as root (CI or a developer's VM). Idempotent and non-interactive: a
# second run checks each piece and skips what is already in place.
#
#   .ci/install-peers.sh            # every step
#   .ci/install-peers.sh STEP...    # only these, in the order given
#
# Steps:
#   apt       Debian packages the rest needs (podman, runc, catatonit, podman-docker, bubblewrap,
#             curl, binutils, python3-venv, and chromium for the dashboard's
#             browser tests); `apt-get update` only if an install fails
#             without it.
#   podman    tests/support/podman-service.sh: podman configured, its Docker
#             API service on /run/podman/podman.sock, `docker` answering.
#   npm       npm ci --prefix tests/peers (skipped while the lock is unchanged).
#   python    tests/peers/.venv with tests/peers/requirements.txt (skipped
#             while the requirements are unchanged).
#   verify    the native peers answer MCP initialize + tools/list over stdio.
#   image     tests/support/build-test-image.sh (localhost/switchboard-test/
#             everything:latest, also tagged docker.io/mcp/github:latest).
#   postgres, mariadb, redis
#             answer on 127.0.0.1:5432 / :3306 / :6379; started if down.
#
# Assumes node 20+ with npm, python3 >= 3.10, and PostgreSQL, MariaDB and
# Redis installed (not necessarily running).
set -euo pipefail

export CI=${CI:-true}
export DEBIAN_FRONTEND=noninteractive
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
exec </dev/null # nothing here may wait for input

readonly SERVICE_TIMEOUT_S=60 # per database, from start command to answering
readonly ALL_STEPS=(apt podman npm python verify image postgres mariadb redis)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
peers=$repo/tests/peers
support=$repo/tests/support

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
fmt_ms() { printf '%d.%03ds' $(($1 / 1000)) $(($1 % 1000)); }
say() { printf '    %s\n' "$*"; }
die() { printf 'install-peers: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root (installs packages, starts services)"

# --- apt ---------------------------------------------------------------------

step_apt() {
  # catatonit: the init process `docker run --init` (our container launcher) needs;
  # it is only a Recommends of podman, which --no-install-recommends skips.
  # bubblewrap: the sandbox of programs on this machine (tests/sandbox.rs).
  local wanted=(podman runc catatonit podman-docker curl binutils chromium bubblewrap) missing=() pkg
  python3 -c 'import ensurepip, venv' 2>/dev/null || wanted+=(python3-venv)
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    say "all present: ${wanted[*]}"
    return
  fi
  say "installing ${missing[*]}"
  # Try the package lists we have; refresh them once only if that fails.
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    say "apt-get update (package lists missing or stale)"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# --- podman ------------------------------------------------------------------

step_podman() { "$support/podman-service.sh" | sed 's/^/    /'; }

# --- npm ---------------------------------------------------------------------

# A stamp inside node_modules: deleting node_modules also forgets the stamp.
npm_stamp=$peers/node_modules/.switchboard-installed
npm_inputs() { { cat "$peers/package-lock.json"; node --version; } | sha256sum | cut -d' ' -f1; }

step_npm() {
  local want
  want=$(npm_inputs)
  if [[ -f $npm_stamp && $(cat "$npm_stamp") == "$want" ]]; then
    say "node_modules matches package-lock.json; skipping npm ci"
    return
  fi
  say "npm ci --prefix tests/peers"
  npm ci --prefix "$peers" --no-audit --no-fund --loglevel=error 2>&1 | sed '/Unknown user config/d; /^$/d; s/^/    /'
  [[ -f $peers/node_modules/@modelcontextprotocol/server-everything/package.json ]] || die "npm ci did not install the peers"
  echo "$want" >"$npm_stamp"
}

# --- python ------------------------------------------------------------------

venv=$peers/.venv
venv_stamp=$venv/.switchboard-installed
venv_inputs() { { cat "$peers/requirements.txt"; python3 --version; command -v python3; } | sha256sum | cut -d' ' -f1; }

step_python() {
  local want
  want=$(venv_inputs)
  if [[ -f $venv_stamp && $(cat "$venv_stamp") == "$want" ]] && "$venv/bin/python" -c '' 2>/dev/null; then
    say "tests/peers/.venv matches requirements.txt; skipping pip"
    return
  fi
  # A fresh venv, so packages dropped from requirements.txt do not linger.
  say "creating tests/peers/.venv with $(python3 --version) ($(command -v python3))"
  rm -rf "$venv"
  python3 -m venv "$venv"
  say "pip install -r tests/peers/requirements.txt"
  "$venv/bin/pip" install --quiet --no-input --disable-pip-version-check -r "$peers/requirements.txt"
  echo "$want" >"$venv_stamp"
}

# --- verify ------------------------------------------------------------------

step_verify() {
  local everything=$peers/node_modules/@modelcontextprotocol/server-everything/dist/index.js
  say "server-everything: node $everything stdio"
  "$support/mcp-stdio-probe.sh" --timeout 20 -- node "$everything" stdio 2>&1 >/dev/null | sed -n 's/^probe:/    probe:/p'
  say "mcp-server-time: $venv/bin/mcp-server-time"
  "$support/mcp-stdio-probe.sh" --timeout 20 -- "$venv/bin/mcp-server-time" 2>&1 >/dev/null | sed -n 's/^probe:/    probe:/p'
}

# --- image -------------------------------------------------------------------

step_image() { "$support/build-test-image.sh" 2>&1 | sed 's/^/    /'; }

# --- databases -----------------------------------------------------------------

tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

postgres_answers() {
  if command -v pg_isready >/dev/null; then pg_isready -q -h 127.0.0.1 -p 5432 -t 2; else tcp_open 5432; fi
}
mariadb_answers() {
  # `ping` succeeds even when the login is refused: it asks only whether the server is up.
  if command -v mariadb-admin >/dev/null; then
    mariadb-admin --connect-timeout=2 -h 127.0.0.1 -P 3306 ping >/dev/null 2>&1
  else tcp_open 3306; fi
}
redis_answers() {
  if command -v redis-cli >/dev/null; then
    [[ $(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null) == PONG ]]
  else tcp_open 6379; fi
}

postgres_start() {
  local version
  # shellcheck disable=SC2012 # cluster versions are plain numbers
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  [[ -n $version ]] || die "no cluster under /etc/postgresql"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
}
mariadb_start() {
  install -d -o mysql -g mysql -m 0755 /run/mysqld # /run is emptied at boot
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
}
redis_start() {
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

# ensure_service NAME PORT: start NAME if it does not answer, then wait for it.
ensure_service() {
  local name=$1 port=$2 deadline
  if "${name}_answers"; then
    say "$name answers on 127.0.0.1:$port"
    return
  fi
  say "$name is down; starting it"
  "${name}_start" 2>&1 | sed 's/^/    /'
  deadline=$(($(now_ms) + SERVICE_TIMEOUT_S * 1000))
  until "${name}_answers"; do
    (($(now_ms) < deadline)) || die "$name did not answer on 127.0.0.1:$port within ${SERVICE_TIMEOUT_S}s"
    sleep 0.2 # poll interval; the deadline above bounds the wait
  done
  say "$name answers on 127.0.0.1:$port"
}

step_postgres() { ensure_service postgres 5432; }
step_mariadb() { ensure_service mariadb 3306; }
step_redis() { ensure_service redis 6379; }

# --- main --------------------------------------------------------------------

steps=("$@")
((${#steps[@]})) || steps=("${ALL_STEPS[@]}")
for s in "${steps[@]}"; do
  declare -F "step_$s" >/dev/null || die "unknown step '$s' (steps: ${ALL_STEPS[*]})"
done

total_start=$(now_ms)
summary=()
for s in "${steps[@]}"; do
  printf '==> %s\n' "$s"
  t0=$(now_ms)
  "step_$s"
  elapsed=$(fmt_ms $(($(now_ms) - t0)))
  printf '<== %s done in %s\n' "$s" "$elapsed"
  summary+=("$(printf '%-9s %s' "$s" "$elapsed")")
done
printf '\ninstall-peers: all done in %s\n' "$(fmt_ms $(($(now_ms) - total_start)))"
printf '    %s\n' "${summary[@]}"
