#!/bin/sh
# Install the Debian 12 packages luac-ctr needs to build, run and test.
# Safe to run again: apt-get skips what is already there.
set -eu
# clang-14 + libclang-rt-14-dev: libFuzzer for spec/fuzz_spec.lua and tools/fuzz.sh
# podman: spec/runc_podman_spec.lua drives luac-runc through it
PKGS="cmake gcc make pkg-config lua5.4 liblua5.4-dev lua-dkjson lua-busted clang-format lua-check cppcheck
      libcap-dev libedit-dev libarchive-dev libmnl-dev libjansson-dev libseccomp-dev libnftables-dev
      busybox-static libc6-dev iproute2 iptables nftables strace util-linux procps qemu-system-x86 cpio
      xz-utils keyutils clang-14 libclang-rt-14-dev time podman"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
