#!/usr/bin/env bash
# A short libFuzzer run of the macros' parse/validate/expand target, for CI.
#   macros/fuzz/ci.sh [SECONDS]   (default 45)
# Builds with nightly `cargo fuzz`, runs the committed corpus and then fuzzes
# for SECONDS; exits non-zero on a crash (the input is left in
# macros/fuzz/artifacts/expand/). Without `cargo +nightly fuzz` it says so and
# exits 0.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-45}"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "macros/fuzz/ci.sh: SKIPPED: \`cargo +nightly fuzz\` is not available (rustup toolchain install nightly; cargo install cargo-fuzz)"
    exit 0
fi
# New inputs go to a scratch copy, so the committed corpus stays as it is.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp corpus/expand/* "$work/corpus"/
# -s none: the target is safe Rust, and the release build without ASan runs ~5x faster.
log="$work/fuzz.log"
set +e
cargo +nightly fuzz run -s none expand "$work/corpus" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1
status=$?
set -e
grep -E '^(stat::|Done|INFO: seed corpus)|panicked|ERROR|SUMMARY|deadly|error' "$log" || true
if [ "$status" -ne 0 ]; then
    tail -n 40 "$log"
    echo "macros/fuzz/ci.sh: FAILED: the fuzz target crashed or did not build (exit $status); see macros/fuzz/artifacts/expand/"
    exit "$status"
fi
echo "macros/fuzz/ci.sh: no crash in ${seconds}s"
