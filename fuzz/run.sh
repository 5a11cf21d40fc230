#!/usr/bin/env bash
# Runs every fuzz target for a while (60 s each by default) from the seed
# corpora in fuzz/corpus/<target>/, which it reads but does not change:
# what a run discovers goes to a scratch corpus, and a crash leaves its
# input in fuzz/artifacts/<target>/ and fails the script.
#
#   bash fuzz/run.sh                 # all targets, 60 s each (what CI runs)
#   bash fuzz/run.sh 300 gateway_line   # one target, 5 minutes
#   FUZZ_MINIMIZE=1 bash fuzz/run.sh    # then merge new finds into the seeds (cmin)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --version 0.13.2 --locked`). libFuzzer's instrumentation
# needs nightly flags; on a stable toolchain RUSTC_BOOTSTRAP=1 lets them
# through (set here), which is how this machine and CI run it. The build
# goes to $FUZZ_TARGET_DIR (default fuzz/target).
set -euo pipefail

cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(settings_edit gateway_line)
fi
export RUSTC_BOOTSTRAP=1
target_dir="${FUZZ_TARGET_DIR:-$PWD/target}"
# The fuzzed service must not find or start anything of the user's.
export SWITCHBOARD_SECRET_STORE=file
unset SWITCHBOARD_HOME SWITCHBOARD_SETTINGS

command -v cargo-fuzz >/dev/null || {
    echo "fuzz/run.sh: cargo-fuzz is missing: cargo install cargo-fuzz --version 0.13.2 --locked" >&2
    exit 1
}

status=0
for target in "${targets[@]}"; do
    scratch="$(mktemp -d "${TMPDIR:-/tmp}/sb-fuzz-$target.XXXXXX")"
    mkdir -p "artifacts/$target"
    echo "== $target: ${seconds}s"
    # -s none: no sanitizer (safe Rust; the instrumentation still guides the
    # search). -rss_limit_mb: a leak or an unbounded buffer is a finding.
    if ! cargo fuzz run -s none --target-dir "$target_dir" "$target" \
        "$scratch" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 \
        -print_final_stats=1; then
        echo "fuzz/run.sh: $target failed; reproduce with:" >&2
        echo "  RUSTC_BOOTSTRAP=1 cargo fuzz run -s none $target fuzz/artifacts/$target/<crash file>" >&2
        status=1
    fi
    if [ "${FUZZ_MINIMIZE:-0}" = 1 ]; then
        cp -n "$scratch"/* "corpus/$target/" 2>/dev/null || true
        cargo fuzz cmin -s none --target-dir "$target_dir" "$target" "corpus/$target"
    fi
    rm -rf "$scratch"
done
exit "$status"
