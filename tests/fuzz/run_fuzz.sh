#!/bin/sh
# Runs a libFuzzer target as a meson test, without touching committed files:
#
#   run_fuzz.sh FUZZER SEED_DIR WORK_DIR SECONDS
#     fuzzes for SECONDS on a fresh copy of the seeds in WORK_DIR/corpus,
#     since libFuzzer adds new inputs to its first corpus directory;
#   run_fuzz.sh --once FUZZER FIXTURE_DIR WORK_DIR
#     runs each *.etrace file of FIXTURE_DIR once (a directory argument
#     would make libFuzzer fuzz it and write into it).
#
# Crash artifacts land in WORK_DIR/artifacts.  libFuzzer's own failure
# status (77) means "skipped" to meson, so failures exit 1 instead.
set -eu

once=false
if [ "${1:-}" = "--once" ]; then
  once=true
  shift
fi
if { $once && [ $# -ne 3 ]; } || { ! $once && [ $# -ne 4 ]; }; then
  echo "usage: run_fuzz.sh FUZZER SEED_DIR WORK_DIR SECONDS" >&2
  echo "       run_fuzz.sh --once FUZZER FIXTURE_DIR WORK_DIR" >&2
  exit 2
fi
fuzzer=$1 inputs=$2 work=$3
mkdir -p "$work/artifacts"

if $once; then
  exec "$fuzzer" -error_exitcode=1 -timeout_exitcode=1 -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/" "$inputs"/*.etrace
fi

rm -rf "$work/corpus"
mkdir -p "$work/corpus"
cp "$inputs"/* "$work/corpus/"
exec "$fuzzer" -max_total_time="$4" -timeout=10 -error_exitcode=1 -timeout_exitcode=1 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus"
