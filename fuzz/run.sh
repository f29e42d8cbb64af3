#!/usr/bin/env bash
# A short pass of every fuzz target (default 60 s each; FUZZ_SECONDS to change), one after
# another. Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); the stable toolchain is
# enough with RUSTC_BOOTSTRAP=1, which cargo-fuzz's sanitizer flags require.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-60}"
for target in masked_object wrapped_key ciphertext_signature trace_file protocol_line cli_config; do
    echo "== $target ($seconds s)"
    RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 2>&1 | grep -E "^stat::number_of_executed_units|^Done|ERROR|panicked" || true
done
