#!/usr/bin/env bash
# Builds the container image switchboard's Docker-launcher tests run, without
# any registry: a FROM-scratch image holding this machine's `node`, the shared
# libraries it links, and @modelcontextprotocol/server-everything with exactly
# the dependencies tests/peers/package-lock.json pins.
#
#   localhost/switchboard-test/everything:latest
#   docker.io/mcp/github:latest   (a token check in front of the same server;
#                                  the catalog's github connector runs it)
#   docker.io/mcp/google-calendar:latest   (same image; the catalog's
#                                  google-calendar connector, with its mounts)
#   localhost/switchboard-test/probe:latest, docker.io/mcp/postgres:latest
#                                 (tests/peers/probe-server.mjs: tries what a
#                                  hostile server would)
#
# `docker run -i --rm --init IMAGE` speaks MCP over stdio (the default CMD is
# `stdio`; pass `sse` or `streamableHttp` plus `-e PORT=...` for the others).
# Use --init (or close stdin, then kill after a deadline): node as PID 1
# ignores SIGTERM.
#
# Idempotent: the image carries a label with the hash of its inputs (this
# script, the package lock, the node binary); when it matches, nothing is
# rebuilt and only the tags are checked. Needs podman (tests/support/podman-service.sh).
set -euo pipefail

readonly IMAGE=localhost/switchboard-test/everything:latest
# The catalog's Google Calendar image: the same server, so that the catalog's
# file and volume mounts are started for real.
readonly ALIASES=(docker.io/mcp/google-calendar:latest)
# The catalog's GitHub image: the same server behind a check that fails like the
# real GitHub server when its token is missing or refused (tokens that start
# with `ghp_valid` are accepted).
readonly AUTH_IMAGE=localhost/switchboard-test/github-auth:latest
readonly AUTH_ALIASES=(docker.io/mcp/github:latest)
# A server that tries what a hostile one would (tests/peers/probe-server.mjs),
# with `sleep` for its children: the container-limit tests run it, also as
# the catalog's PostgreSQL image (whose policy allows its database only).
readonly PROBE_IMAGE=localhost/switchboard-test/probe:latest
readonly PROBE_ALIASES=(docker.io/mcp/postgres:latest)
readonly HASH_LABEL=io.switchboard.test.inputs-sha256
readonly PKG=@modelcontextprotocol/server-everything
readonly APP_DIR=/app # where node_modules lives inside the image

say() { printf 'build-test-image: %s\n' "$*"; }
die() { printf 'build-test-image: ERROR: %s\n' "$*" >&2; exit 1; }

script_path=$(realpath "${BASH_SOURCE[0]}")
script_dir=$(dirname "$script_path")
repo_top=$(git -C "$script_dir" rev-parse --show-toplevel 2>/dev/null || realpath "$script_dir/../..")
peers_dir=$repo_top/tests/peers
lock=$peers_dir/package-lock.json

command -v podman >/dev/null || die "podman not installed; run tests/support/podman-service.sh first"
node_bin=$(realpath "$(command -v node)") || die "node not found on PATH"
[[ -f $lock ]] || die "missing $lock"

# Inputs: this script, the lock, and which node binary goes in.
inputs_hash=$( {
  cat "$script_path" "$lock"
  printf '%s %s\n' "$node_bin" "$("$node_bin" --version)"
  stat -c '%s %Y' "$node_bin"
} | sha256sum | cut -d' ' -f1)

image_id() { podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

ensure_aliases() {
  local id alias
  id=$(image_id "$IMAGE")
  for alias in "${ALIASES[@]}"; do
    if [[ $(image_id "$alias") == "$id" ]]; then
      say "tag $alias already points at ${id:0:12}"
    else
      podman tag "$IMAGE" "$alias"
      say "tagged $alias -> ${id:0:12}"
    fi
  done
}

# Builds the token-checking image on top of $IMAGE (a COPY of one file, so
# about a second) and points the catalog tags at it.
build_auth_image() {
  local stage entry alias id
  entry=$(podman image inspect --format '{{index .Config.Entrypoint 1}}' "$IMAGE")
  stage=$(mktemp -d /var/tmp/switchboard-auth-image.XXXXXX)
  cat >"$stage/github-auth.mjs" <<EOF
// Fails like the real GitHub MCP server when its token is missing or refused.
const token = process.env.GITHUB_PERSONAL_ACCESS_TOKEN;
if (!token) {
  console.error("GITHUB_PERSONAL_ACCESS_TOKEN environment variable is not set");
  process.exit(1);
}
if (!token.startsWith("ghp_valid")) {
  console.error("Error: Bad credentials - https://docs.github.com/rest (HTTP 401)");
  process.exit(1);
}
await import("$entry");
EOF
  cat >"$stage/Containerfile" <<EOF
FROM $IMAGE
COPY github-auth.mjs $APP_DIR/github-auth.mjs
ENTRYPOINT ["/usr/bin/node", "$APP_DIR/github-auth.mjs"]
CMD ["stdio"]
EOF
  podman build --quiet -t "$AUTH_IMAGE" -f "$stage/Containerfile" "$stage" >/dev/null
  rm -rf "$stage"
  id=$(image_id "$AUTH_IMAGE")
  for alias in "${AUTH_ALIASES[@]}"; do
    podman tag "$AUTH_IMAGE" "$alias"
  done
  say "built $AUTH_IMAGE ${id:0:12} (also ${AUTH_ALIASES[*]})"
}

# Builds the probe image on top of $IMAGE (two COPYs, about a second).
build_probe_image() {
  local stage id
  stage=$(mktemp -d /var/tmp/switchboard-probe-image.XXXXXX)
  cp "$peers_dir/probe-server.mjs" "$stage/probe-server.mjs"
  cp "$(realpath /usr/bin/sleep)" "$stage/sleep"
  cat >"$stage/Containerfile" <<EOF
FROM $IMAGE
COPY probe-server.mjs $APP_DIR/probe-server.mjs
COPY sleep /usr/bin/sleep
ENTRYPOINT ["/usr/bin/node", "$APP_DIR/probe-server.mjs"]
CMD []
EOF
  podman build --quiet -t "$PROBE_IMAGE" -f "$stage/Containerfile" "$stage" >/dev/null
  rm -rf "$stage"
  id=$(image_id "$PROBE_IMAGE")
  for alias in "${PROBE_ALIASES[@]}"; do
    podman tag "$PROBE_IMAGE" "$alias"
  done
  say "built $PROBE_IMAGE ${id:0:12} (also ${PROBE_ALIASES[*]})"
}

old_id=$(image_id "$IMAGE")
if [[ -n $old_id ]]; then
  current=$(podman image inspect --format "{{index .Labels \"$HASH_LABEL\"}}" "$IMAGE" 2>/dev/null || true)
  if [[ $current == "$inputs_hash" ]]; then
    say "$IMAGE is up to date (inputs ${inputs_hash:0:12}); not rebuilding"
    ensure_aliases
    build_auth_image
    build_probe_image
    exit 0
  fi
  say "$IMAGE exists but its inputs changed (${current:0:12} -> ${inputs_hash:0:12}); rebuilding"
fi

# The package must be installed as the lock says (npm ci is cheap when cached).
lock_version=$(node -e 'const l=require(process.argv[1]);console.log(l.packages["node_modules/"+process.argv[2]].version)' "$lock" "$PKG")
installed_version=$(node -e 'try{console.log(require(process.argv[1]).version)}catch{console.log("none")}' \
  "$peers_dir/node_modules/$PKG/package.json")
if [[ $installed_version != "$lock_version" ]]; then
  say "$PKG $installed_version installed, lock says $lock_version: running npm ci --prefix tests/peers"
  npm ci --prefix "$peers_dir" --no-audit --no-fund --loglevel=error
fi

stage=$(mktemp -d /var/tmp/switchboard-test-image.XXXXXX)
trap 'rm -rf "$stage"' EXIT
rootfs=$stage/rootfs
mkdir -p "$rootfs/usr/bin" "$rootfs$APP_DIR" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"

# node, without debug info (dynamic symbols stay, so addons would still link).
if command -v strip >/dev/null; then
  strip --strip-unneeded -o "$rootfs/usr/bin/node" "$node_bin"
else
  cp "$node_bin" "$rootfs/usr/bin/node"
fi

# The shared libraries and the dynamic loader, at the paths ldd names.
while read -r lib; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done < <(ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)

# The server and its dependency closure, laid out as in tests/peers so node's
# resolution finds the same copies. Nested node_modules are copied only when
# they are part of the closure.
mapfile -t pkg_dirs < <(node - "$peers_dir" "$PKG" <<'JS'
const fs = require("fs"), path = require("path");
const [root, start] = process.argv.slice(2);
// Node's lookup: node_modules/<name> in this package, then each parent up to root.
function find(fromDir, name) {
  for (let d = fromDir; d.startsWith(root); d = path.dirname(d)) {
    const c = path.join(d, "node_modules", name);
    if (fs.existsSync(path.join(c, "package.json"))) return c;
    if (d === root) break;
  }
  return null;
}
const seen = new Set();
const queue = [path.join(root, "node_modules", start)];
while (queue.length) {
  const dir = queue.pop();
  if (seen.has(dir)) continue;
  seen.add(dir);
  const pj = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const required = Object.keys(pj.dependencies || {});
  const optional = [...Object.keys(pj.optionalDependencies || {}), ...Object.keys(pj.peerDependencies || {})];
  for (const name of required) {
    const found = find(dir, name);
    if (!found) { console.error(`${path.relative(root, dir)} needs ${name}, which is not installed`); process.exit(1); }
    queue.push(found);
  }
  for (const name of optional) { const found = find(dir, name); if (found) queue.push(found); }
}
for (const d of [...seen].sort()) console.log(path.relative(root, d));
JS
)
((${#pkg_dirs[@]} > 0)) || die "could not resolve the dependencies of $PKG"
for rel in "${pkg_dirs[@]}"; do
  mkdir -p "$rootfs$APP_DIR/$rel"
  find "$peers_dir/$rel" -mindepth 1 -maxdepth 1 ! -name node_modules -exec cp -a {} "$rootfs$APP_DIR/$rel/" \;
done

entry=$APP_DIR/node_modules/$PKG/$(node -p 'const b=require(process.argv[1]).bin; typeof b==="string"?b:Object.values(b)[0]' \
  "$peers_dir/node_modules/$PKG/package.json")
entry=$(realpath -m "$entry")
[[ -f $rootfs$entry ]] || die "entry point $entry missing from the staged tree"

cat >"$stage/Containerfile" <<EOF
FROM scratch
COPY rootfs/ /
WORKDIR $APP_DIR
ENTRYPOINT ["/usr/bin/node", "$entry"]
CMD ["stdio"]
EOF

say "building $IMAGE: node $("$node_bin" --version), ${#pkg_dirs[@]} npm packages, $(du -sh "$rootfs" | cut -f1) staged"
build_start=$SECONDS
podman build --quiet --layers=false --label "$HASH_LABEL=$inputs_hash" -t "$IMAGE" -f "$stage/Containerfile" "$stage" >/dev/null
new_id=$(image_id "$IMAGE")
say "built ${new_id:0:12} in $((SECONDS - build_start))s ($(podman image inspect --format '{{.Size}}' "$IMAGE" | numfmt --to=iec))"
ensure_aliases
# The replaced image is now untagged: drop it so rebuilds do not pile up.
if [[ -n $old_id && $old_id != "$new_id" ]]; then
  podman rmi "$old_id" >/dev/null 2>&1 && say "removed the previous image ${old_id:0:12}" || true
fi

# Smoke test: the image must answer initialize and tools/list over stdio.
say "checking that $IMAGE speaks MCP over stdio"
"$script_dir/mcp-stdio-probe.sh" --timeout 20 -- podman run -i --rm --init "$IMAGE" >/dev/null
build_auth_image
build_probe_image
say "done: $IMAGE, $AUTH_IMAGE and $PROBE_IMAGE"
