#!/usr/bin/env bash
# The main job: set up, build, record the bundled example server under the
# tracer, show what the trace holds, turn it into profiles and exports, and
# open the timeline viewer (or, with no display, save a screenshot of it).
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
et="$build/convert/exectrace"
"$et" stats "$out/reqserver.etrace"
echo
for type in cpu sync mutex sched net block syscall; do
  "$et" pprof --type "$type" -o "$out/$type.pb.gz" "$out/reqserver.etrace"
done
"$et" export --format chrome -o "$out/reqserver.json" "$out/reqserver.etrace"
"$et" export --format ctf -o "$out/reqserver.ctf" "$out/reqserver.etrace"
cat <<EOF
The trace is $out/reqserver.etrace. From it:
  $out/{cpu,sync,mutex,sched,net,block,syscall}.pb.gz   pprof profiles: open one with
      go tool pprof -top $out/sync.pb.gz     (or -http=127.0.0.1:8080 for the web UI)
  $out/reqserver.json   Chrome trace JSON: open it in Perfetto UI or chrome://tracing
  $out/reqserver.ctf    a CTF trace: babeltrace2 $out/reqserver.ctf
Every event, one per line:
  $et dump $out/reqserver.etrace | less
EOF
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "Opening the timeline viewer ('?' lists the keys)."
  "$et" view "$out/reqserver.etrace"
else
  "$et" view --screenshot "$out/reqserver.png" --size 1600x900 "$out/reqserver.etrace"
  echo "No display: the timeline viewer's first frame is in $out/reqserver.png"
  echo "  (on a desktop: $et view $out/reqserver.etrace)"
fi
