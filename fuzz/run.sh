#!/usr/bin/env bash
# Builds the make_seekable fuzz targets with libFuzzer's coverage instrumentation (stable Rust:
# the sancov pass, no sanitizer; Rust code is memory-safe, so panics, hangs and runaway
# allocation are what is being looked for) and runs each for $1 seconds (default 60): the WebM
# target from the browser recordings in ../shared/fixtures and our own recordings, then the
# MP4 target (its oracle: the output parses in our own reader) from the MP4 seeds.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps RUSTFLAGS off build scripts (they cannot link the coverage hooks).
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --quiet --target "$host" --bin make_seekable --bin make_seekable_mp4
mkdir -p corpus/make_seekable corpus/make_seekable_mp4 artifacts
if [ -d ../../shared/fixtures ]; then cp -n ../../shared/fixtures/*.webm corpus/make_seekable/ 2>/dev/null || true; fi
cp -n seeds/* corpus/make_seekable/ 2>/dev/null || true
cp -n seeds/*.mp4 corpus/make_seekable_mp4/ 2>/dev/null || true
for target in make_seekable make_seekable_mp4; do
    ./target/"$host"/release/$target corpus/$target -max_total_time="$seconds" \
        -rss_limit_mb=2048 -timeout=10 -max_len=262144 -artifact_prefix=artifacts/$target- \
        -print_final_stats=1
done
