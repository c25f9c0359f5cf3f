#!/usr/bin/env bash
# Installs what exectrace needs to build and test on Debian 12 (run as root).
# Sourced by demo.sh and test.sh; safe to run again.
set -euo pipefail

et_packages=(
  meson ninja-build pkg-config gcc   # the build
  zlib1g-dev                         # gzip of profiles; CRC-32 where ISA-L is missing
  libisal-dev                        # CRC-32 of trace chunks, fast enough for the writer thread
  clang libclang-rt-14-dev           # libFuzzer targets and their sanitizers
  python3                            # the test summary, JSON checks in tests
  babeltrace2                        # reads our CTF exports in the tests
  libbabeltrace2-dev                 # the reader's CTF import (our exports, LTTng traces)
  libdw-dev                          # elfutils: symbols, source lines, inlines for pprof
  libc6-dbg                          # libc's full symbol table (start_thread...), found by elfutils: tests check stacks through libc
  libunwind-dev                      # --stacks dwarf: libunwind, loaded at run time (libunwind8)
  golang-go                          # go tool pprof reads our profiles in the tests
  libsdl2-dev libsdl2-ttf-dev        # the viewer's window, drawing and text
  fonts-dejavu-core                  # the viewer's font
  xvfb xauth                         # a real X server for the viewer's window tests
  libmicrohttpd-dev                  # the /debug/pprof/ endpoint (libexectrace-http)
  curl                               # a real HTTP client in the live-capture tests
  memcached libmemcached-tools       # a real server and its load generator (memcslap) under record
  nginx-light wrk                    # another real server (master + worker processes) and its load
  liblttng-ust-dev                   # the LTTng-UST provider libexectrace-lttng.so (lttng-ust)
  lttng-tools                        # real lttng-sessiond and lttng-relayd sessions in the tests
)

et_setup() {
  local missing=()
  for p in "${et_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "exectrace: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}
