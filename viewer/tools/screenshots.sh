#!/bin/sh
# screenshots.sh [BUILD_DIR]: regenerates the viewer's pictures in docs/images/
# from a fresh trace of the bundled example server (docs/examples/reqserver),
# with `exectrace-view --screenshot` (no display needed):
#   view-whole.png   the whole trace
#   view-task.png    the slowest request, chosen, with the tasks panel
#   view-wait.png    the longest wait selected: details with its stack
#   view-range.png   a range selected: its summary
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-view}
view=$build/viewer/exectrace-view
exectrace=$build/convert/exectrace
out=$src/docs/images
tmp=$(mktemp -d /tmp/et-shots-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
"$build/docs/examples/reqserver" -o "$tmp/app.etrace" >/dev/null
"$exectrace" dump "$tmp/app.etrace" > "$tmp/dump"

"$view" --screenshot "$out/view-whole.png" "$tmp/app.etrace"

# the slowest task: its id from task_begin/task_end (time tid kind fields...)
task=$(awk '$3 == "task_begin" { split($4, a, "="); b[a[2]] = $1 }
            $3 == "task_end"   { split($4, a, "="); if (a[2] in b && $1 - b[a[2]] > best) { best = $1 - b[a[2]]; id = a[2] } }
            END { print id }' "$tmp/dump")
"$view" --screenshot "$out/view-task.png" --task "$task" --tasks-panel "$tmp/app.etrace"

# the longest wait: block_begin to block_end on one thread
set -- $(awk '$3 == "block_begin" { b[$2] = $1 }
              $3 == "block_end" && ($2 in b) { if ($1 - b[$2] > best) { best = $1 - b[$2]; t = b[$2]; tid = $2 } delete b[$2] }
              END { printf "%d %d %d\n", t, tid, best }' "$tmp/dump")
mid=$(( $1 + $3 / 2 ))
from=$(( $1 > $3 ? $1 - $3 : 0 ))
"$view" --screenshot "$out/view-wait.png" --range "${from}ns..$(( $1 + 2 * $3 ))ns" --select-at "${mid}ns,$2" "$tmp/app.etrace"

"$view" --screenshot "$out/view-range.png" --select-range 20ms..40ms "$tmp/app.etrace"
echo "wrote $out/view-whole.png view-task.png view-wait.png view-range.png (task $task, wait on thread $2)"
