#!/usr/bin/env bash
# A short run of each decoder fuzz target (issue 11, fuzzing): builds them with
# nightly and AddressSanitizer, runs each for WEFT_FUZZ_SECONDS (20 by default,
# well under 3 minutes together), starting from the committed corpus. Exits
# non-zero on a crash (the input is left in runtime/fuzz/artifacts/TARGET/), 0
# with a notice where `cargo +nightly fuzz` is not installed.
set -euo pipefail
cd "$(dirname "$0")"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz (decoders): SKIPPED: \`cargo +nightly fuzz\` is not available" \
        "(rustup toolchain install nightly && cargo install cargo-fuzz)"
    exit 0
fi

seconds=${WEFT_FUZZ_SECONDS:-20}
targets=(history_event replay_export payload store_rows)
cargo +nightly fuzz build -O
for target in "${targets[@]}"; do
    # New inputs go to a scratch folder, not into the committed corpus.
    scratch=$(mktemp -d)
    echo "fuzz (decoders): $target for ${seconds}s"
    if ! cargo +nightly fuzz run -O "$target" "$scratch" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$scratch.log" 2>&1; then
        tail -n 40 "$scratch.log"
        echo "fuzz (decoders): $target CRASHED; the input is in runtime/fuzz/artifacts/$target/"
        exit 1
    fi
    grep -E "^Done|stat::number_of_executed_units|stat::average_exec_per_sec" "$scratch.log" || true
    rm -rf "$scratch" "$scratch.log"
done
echo "fuzz (decoders): ok"
