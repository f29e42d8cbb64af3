#!/usr/bin/env bash
# A short pass of every fuzz target (default 60 s each; FUZZ_SECONDS to change), one after
# another. Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); the stable toolchain is
# enough with RUSTC_BOOTSTRAP=1, which cargo-fuzz's sanitizer flags require.
# Exit status: 0 when every target ran its time without a crash; 1 when any target crashed
# (or failed to build); every target runs either way, and the failing ones are listed.
set -uo pipefail
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-60}"
failed=()
for target in masked_object wrapped_key ciphertext_signature trace_file protocol_line cli_config scenario_file; do
    echo "== $target ($seconds s)"
    RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 2>&1 |
        grep -E "^stat::number_of_executed_units|^Done|ERROR|panicked|^artifact_prefix|Test unit written"
    # The pipeline's status is grep's; cargo fuzz's own is the first.
    status=${PIPESTATUS[0]}
    if [ "$status" -ne 0 ]; then
        echo "== $target FAILED (cargo fuzz exit status $status)"
        failed+=("$target")
    fi
done
if [ "${#failed[@]}" -ne 0 ]; then
    echo "fuzz/run.sh: crash or failure in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz/run.sh: no target found a crash"
