#!/usr/bin/env bash
# Fuzzes the host's parsers of untrusted input, one target after another, each for a set time,
# and prints per target: seconds, executions, exec/s, crashes, corpus size.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     SECONDS defaults to 600; targets: manifest query path
#
# Environment: FUZZ_SANITIZER (address, or none; default address, falling back to none when
# the ASan build fails), FUZZ_TIMEOUT (seconds one input may take before it counts as a crash,
# default 10), CARGO_BUILD_JOBS (build parallelism).
#
# The committed seeds in fuzz/corpus/<target>/ are read but never written: libFuzzer writes
# the inputs it generates into fuzz/target/corpus/<target>/ (gitignored). A crashing input is
# saved in fuzz/artifacts/<target>/; once the bug is fixed, commit it there as a regression
# (host/tests/fuzz_corpus.rs replays it in `cargo test`). Exits 1 when any target crashed.
set -euo pipefail

secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(manifest query path)
fi
fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$fuzz_dir"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: installing it" >&2
    cargo install cargo-fuzz --locked
fi

# cargo fuzz passes -Z flags to rustc; on a stable toolchain they need RUSTC_BOOTSTRAP.
if ! rustc --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi

target_dir="$fuzz_dir/target"
logs="$target_dir/logs"
mkdir -p "$logs"
sanitizer=${FUZZ_SANITIZER:-address}
echo "building the fuzz targets (sanitizer: $sanitizer)" >&2
if ! cargo fuzz build --sanitizer "$sanitizer" --target-dir "$target_dir" >"$logs/build.log" 2>&1; then
    if [ "$sanitizer" = none ]; then
        tail -30 "$logs/build.log" >&2
        exit 2
    fi
    echo "the $sanitizer build failed (see $logs/build.log); building without a sanitizer" >&2
    sanitizer=none
    cargo fuzz build --sanitizer none --target-dir "$target_dir" >"$logs/build.log" 2>&1 || {
        tail -30 "$logs/build.log" >&2
        exit 2
    }
fi

summary="$target_dir/summary.txt"
printf '%-9s %8s %12s %8s %8s %10s %s\n' target seconds executions exec/s crashes corpus sanitizer |
    tee "$summary"
failed=0
for t in "${targets[@]}"; do
    generated="$target_dir/corpus/$t"
    artifacts="$fuzz_dir/artifacts/$t"
    mkdir -p "$generated" "$artifacts"
    before=$(find "$artifacts" -type f | wc -l)
    dict=()
    if [ -f "$fuzz_dir/dict/$t.dict" ]; then
        dict=("-dict=$fuzz_dir/dict/$t.dict")
    fi
    log="$logs/$t.log"
    start=$(date +%s)
    # One worker, one job: the machine is shared. The first corpus folder receives new inputs.
    if cargo fuzz run --sanitizer "$sanitizer" --target-dir "$target_dir" "$t" \
        "$generated" "$fuzz_dir/corpus/$t" -- \
        -max_total_time="$secs" -timeout="${FUZZ_TIMEOUT:-10}" -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" >"$log" 2>&1; then
        rc=0
    else
        rc=$?
    fi
    elapsed=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ -z "$execs" ]; then
        # No final stats (killed hard): the last status line's "#N".
        execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    fi
    execs=${execs:-0}
    corpus=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
    crashes=$(($(find "$artifacts" -type f | wc -l) - before))
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes=1 # a failure that left no artifact (e.g. an abort before writing it)
    fi
    rate=$((execs / (elapsed > 0 ? elapsed : 1)))
    printf '%-9s %8s %12s %8s %8s %10s %s\n' "$t" "$elapsed" "$execs" "$rate" "$crashes" \
        "${corpus:-?}" "$sanitizer" | tee -a "$summary"
    if [ "$crashes" -ne 0 ]; then
        failed=1
        echo "  $t crashed: see $log and $artifacts/" >&2
        grep -m3 -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer)' "$log" | sed 's/^/  /' >&2 || true
    fi
done
echo "summary: $summary; logs: $logs/" >&2
exit "$failed"
