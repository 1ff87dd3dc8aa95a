#!/bin/sh
# Runs one fuzz target for a while, in fork mode so that it keeps going after
# a crash (each crash lands in artifacts/<target>/), growing work/<target>
# from corpus/<target>. Usage: fuzz/campaign.sh TARGET [SECONDS] [libFuzzer flags…]
# Build first: (cd fuzz && cargo fuzz build -s none). See docs/08-fuzzing.md.
set -eu
cd "$(dirname "$0")"
target=$1
seconds=${2:-600}
[ $# -ge 2 ] && shift 2 || shift 1
case $target in
    feed_page | record) dict=dicts/rdf.dict max_len=65536 ;;
    peers_toml) dict=dicts/toml.dict max_len=8192 ;;
    sparql) dict=dicts/sparql.dict max_len=16384 ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
bin=target/x86_64-unknown-linux-gnu/release/$target
mkdir -p "work/$target" "artifacts/$target"
exec nice -n 10 "$bin" "work/$target" "corpus/$target" \
    -dict="$dict" -max_len="$max_len" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="artifacts/$target/" -print_final_stats=1 "$@"
