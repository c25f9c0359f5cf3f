#!/usr/bin/env bash
# The main job: set up, build, record the bundled example server under the
# tracer and show what the trace holds.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
et_setup

build=build-demo
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release -Dtests=false -Dbench=false
ninja -C "$build"

out=${EXECTRACE_DEMO_DIR:-demo}
mkdir -p "$out"
"$build/docs/examples/reqserver" -o "$out/reqserver.etrace" -c 8 -n 500
"$build/convert/exectrace" stats "$out/reqserver.etrace"
echo
echo "The trace is $out/reqserver.etrace; see every event with:"
echo "  $build/convert/exectrace dump $out/reqserver.etrace | less"
