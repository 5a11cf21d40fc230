#!/usr/bin/env bash
# Makes `docker` work on this machine with Podman behind it, for switchboard's
# container tests. Idempotent; needs root.
#
#  1. Podman + runc installed and configured: runs shared/podman-setup.sh
#     (found beside the repository's directory: <clone>/../shared, falling
#     back to /work/shared).
#  2. podman-docker installed: /usr/bin/docker (a shim that execs podman) and
#     the /run/docker.sock -> /run/podman/podman.sock link.
#  3. Podman's Docker-compatible API service listening on
#     unix:///run/podman/podman.sock (started detached, only if not answering),
#     so the real Docker CLI in /usr/local/bin and bollard can talk to it.
#  4. Waits (poll with a deadline) until `docker version` reaches the service.
#
# The service's output goes to /var/log/switchboard-podman-service.log and its
# pid to /run/podman/switchboard-service.pid.
set -euo pipefail

readonly SOCKET=/run/podman/podman.sock
readonly DOCKER_SOCK_LINK=/run/docker.sock
readonly PID_FILE=/run/podman/switchboard-service.pid
readonly LOG_FILE=/var/log/switchboard-podman-service.log
readonly READY_TIMEOUT_S=30

say() { printf 'podman-service: %s\n' "$*"; }
die() { printf 'podman-service: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root (installs packages, owns /run/podman)"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_top=$(git -C "$script_dir" rev-parse --show-toplevel 2>/dev/null || (cd "$script_dir/../.." && pwd))

# 1. Podman itself.
setup_script=$(realpath -m "$repo_top/../shared/podman-setup.sh")
[[ -f $setup_script ]] || setup_script=/work/shared/podman-setup.sh
[[ -f $setup_script ]] || die "podman-setup.sh not found beside the repo ($repo_top/../shared) nor in /work/shared"
say "configuring podman with $setup_script"
bash "$setup_script"

# 2. podman-docker (the shim and the socket link).
if [[ ! -x /usr/bin/docker ]] || ! dpkg-query -W -f='${Status}' podman-docker 2>/dev/null | grep -q 'install ok installed'; then
  say "installing podman-docker"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends podman-docker >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends podman-docker >/dev/null
  fi
fi
# No systemd-tmpfiles at boot on these machines: make the link ourselves.
if [[ $(readlink "$DOCKER_SOCK_LINK" 2>/dev/null) != "$SOCKET" ]]; then
  say "linking $DOCKER_SOCK_LINK -> $SOCKET"
  ln -sfn "$SOCKET" "$DOCKER_SOCK_LINK"
fi
# The shim prints a banner on every call unless this file exists.
[[ -e /etc/containers/nodocker ]] || touch /etc/containers/nodocker

# 3. The API service.
api_answers() { curl -fsS --max-time 2 --unix-socket "$SOCKET" http://d/_ping >/dev/null 2>&1; }
service_pid_alive() { [[ -f $PID_FILE ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

if api_answers; then
  say "podman API already answering on $SOCKET"
elif service_pid_alive; then
  say "podman API service (pid $(cat "$PID_FILE")) is starting; waiting for it"
else
  mkdir -p "$(dirname "$SOCKET")"
  # A socket file nobody answers on is left over from a dead service.
  [[ -S $SOCKET ]] && rm -f "$SOCKET"
  say "starting podman system service on unix://$SOCKET (log: $LOG_FILE)"
  setsid nohup podman system service --time=0 "unix://$SOCKET" \
    </dev/null >>"$LOG_FILE" 2>&1 &
  echo $! >"$PID_FILE"
fi

# 4. Wait until the Docker CLI reaches it.
deadline=$((SECONDS + READY_TIMEOUT_S))
until api_answers && server_version=$(docker version --format '{{.Server.Version}}' 2>/dev/null); do
  if ((SECONDS >= deadline)); then
    tail -n 20 "$LOG_FILE" >&2 || true
    die "podman API did not answer within ${READY_TIMEOUT_S}s"
  fi
  if ! service_pid_alive && ! api_answers; then
    tail -n 20 "$LOG_FILE" >&2 || true
    die "podman system service exited; see $LOG_FILE"
  fi
  sleep 0.1 # poll interval; the deadline above bounds the wait
done
say "ready: $(command -v docker) (client $(docker version --format '{{.Client.Version}}' 2>/dev/null)) -> podman $server_version at $SOCKET"
