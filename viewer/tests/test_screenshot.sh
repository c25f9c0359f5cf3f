#!/bin/sh
# test_screenshot.sh EXECTRACE_VIEW GEN_TRACE: `--screenshot` without a
# display writes a PNG of the asked size (checked byte by byte: signature,
# IHDR width and height), for the whole trace, a task and a selection; bad
# arguments fail with exit status 2.
view=$1
gen=$2
dir=$(mktemp -d /tmp/et-view-shot-XXXXXX)
trap 'rm -rf "$dir"' EXIT
n=0
fail=0
check() { n=$((n + 1)); if eval "$1"; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
unset DISPLAY
"$gen" "$dir/t.etrace"
check '[ -s "$dir/t.etrace" ]' "gen_trace recorded a trace"
check '"$view" --screenshot "$dir/a.png" --size 800x500 "$dir/t.etrace"' "--screenshot works without a display"
check '[ "$(head -c 8 "$dir/a.png" | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ]' "the file is a PNG"
check '[ "$(od -An -tu1 -j16 -N8 "$dir/a.png" | tr -s " " | sed "s/^ //")" = "0 0 3 32 0 0 1 244" ]' "of 800x500 pixels"
check '"$view" --screenshot "$dir/b.png" --search lookup --tasks-panel "$dir/t.etrace"' "a search with the tasks panel"
check '"$view" --screenshot "$dir/c.png" --select-range 5ms..15ms "$dir/t.etrace"' "a range selection screenshot"
rc=0; "$view" --screenshot "$dir/d.png" --size 10x10 "$dir/t.etrace" 2>/dev/null || rc=$?
check '[ $rc -eq 2 ]' "a bad --size is a usage error (2)"
rc=0; "$view" --screenshot "$dir/d.png" "$dir/missing.etrace" 2>/dev/null || rc=$?
check '[ $rc -eq 1 ]' "a missing trace fails with 1"
rc=0; "$view" --screenshot "$dir/d.png" --task 999999999 "$dir/t.etrace" 2>/dev/null || rc=$?
check '[ $rc -eq 1 ]' "an unknown --task fails with 1"
echo "1..$n"
exit $fail
