#!/usr/bin/env bash
# The whole test suite: set up, then build and test four ways —
#   build-asan   ASan+UBSan, unit and end-to-end tests
#   build-tsan   TSan, the tracer's tests and the preload library's (record)
#   build-fuzz   clang + libFuzzer, every parser's fuzz target (>= 60 s each)
#   build-test   the normal build with -Werror, every test; its summary ends the run
# plus an install check that `pkg-config exectrace` builds a program.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
et_setup || exit 1

failed_stages=()
stage() { # name, command...
  local name=$1; shift
  echo "==== $name"
  if ! "$@"; then failed_stages+=("$name"); fi
}

configure() { # dir, args...
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then meson configure "$dir" "$@" >/dev/null; else meson setup "$dir" "$@"; fi
}

build_and_test() { # dir, meson-test-args, configure-args...
  local dir=$1 targs=$2; shift 2
  configure "$dir" "$@" >/dev/null && ninja -C "$dir" && meson test -C "$dir" --print-errorlogs $targs
}

san='-Db_lundef=false -Dc_args=-fno-sanitize-recover=all'
stage asan build_and_test build-asan "--suite unit --suite e2e" -Db_sanitize=address,undefined $san -Dbench=false
# The tracer tests fork children that start the writer thread again.  The
# record suite (also in the ASan stage, through e2e) preloads the sanitized
# libexectrace-preload.so into sanitized programs.
TSAN_OPTIONS=die_after_fork=0 \
  stage tsan build_and_test build-tsan "--suite tracer --suite record" -Db_sanitize=thread -Db_lundef=false -Dbench=false
CC=clang stage fuzz build_and_test build-fuzz "--suite fuzz" -Dfuzz=enabled -Db_sanitize=address,undefined $san -Dbench=false

pkgcheck() {
  local dest; dest=$(mktemp -d)
  configure build-test -Dwerror=true >/dev/null && ninja -C build-test >/dev/null &&
  DESTDIR="$dest" meson install -C build-test --quiet &&
  local prefix; prefix=$(meson introspect build-test --buildoptions | python3 -c \
    'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))') &&
  local libdir; libdir=$(meson introspect build-test --buildoptions | python3 -c \
    'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"))') &&
  PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_PATH="$dest$prefix/$libdir/pkgconfig" \
    sh -c 'cc -o "$0/reqserver" docs/examples/reqserver.c $(pkg-config --cflags --libs exectrace) -lpthread' "$dest" &&
  LD_LIBRARY_PATH="$dest$prefix/$libdir" "$dest/reqserver" -o "$dest/t.etrace" -c 2 -n 10 >/dev/null &&
  echo "pkg-config exectrace: built and ran the example against the installed library"
  local r=$?
  rm -rf "$dest"
  return $r
}
stage pkg-config pkgcheck

python3 - build-asan build-tsan build-fuzz <<'PY'
import json, os, sys
passed = failed = 0
for d in sys.argv[1:]:
    p = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(p):
        continue
    for line in open(p):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"): passed += 1
        elif r in ("FAIL", "ERROR", "TIMEOUT", "UNEXPECTEDPASS"): failed += 1
print("sanitizer and fuzz builds: %d passed, %d failed" % (passed, failed))
PY
stage main build_and_test build-test "" -Dwerror=true

if [ "${#failed_stages[@]}" -gt 0 ]; then
  echo "FAILED stages: ${failed_stages[*]}"
  exit 1
fi
