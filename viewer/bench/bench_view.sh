#!/bin/sh
# bench_view.sh BUILD_DIR [N...]: records a trace of N events (default 20
# million) with gen_big and prints `exectrace-view --bench` on it, for each N.
# Traces go to $ET_BENCH_DIR (default /dev/shm, else /tmp) and are removed.
set -eu
build=${1:?usage: bench_view.sh BUILD_DIR [N...]}
shift
[ $# -gt 0 ] || set -- 20000000
dir=${ET_BENCH_DIR:-/dev/shm}
[ -w "$dir" ] || dir=/tmp
for n in "$@"; do
  trace="$dir/et-view-bench-$$-$n.etrace"
  "$build/viewer/bench/gen_big" "$n" "$trace"
  echo "# N=$n trace=$(stat -c %s "$trace") bytes"
  "$build/viewer/exectrace-view" --bench "$trace"
  rm -f "$trace"
done
