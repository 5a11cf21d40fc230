#!/usr/bin/env bash
# Refreshes the dashboard screenshots in docs/screenshots/ (the README shows
# them): runs the browser test (tests/http_browser.rs, Debian's Chromium
# through playwright-core) with SWITCHBOARD_SCREENSHOTS pointing there. Needs
# the test peers: `bash .ci/install-peers.sh` once.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
SWITCHBOARD_SCREENSHOTS=docs/screenshots cargo test --test http_browser -- --nocapture
ls -l docs/screenshots
