#!/bin/sh
# Install the Debian 12 packages luac-ctr needs. Safe to run again: apt-get
# skips what is already there.
#   sh tools/install-deps.sh          build and run (the README's first command)
#   sh tools/install-deps.sh --test   also what the specs, lint and fuzzing need
#                                     (tools/test.sh runs this)
#   --list (first): print the packages instead of installing them
set -eu
# build: compiler, Lua 5.4 (luac5.4 precompiles the modules), the -dev
# packages of the libraries linked in; run: the busybox image, nftables,
# newuidmap/newgidmap for rootless containers (uidmap), pasta: their network (passt)
RUNTIME="cmake gcc make pkg-config libc6-dev lua5.4 liblua5.4-dev
      libcap-dev libedit-dev libarchive-dev libmnl-dev libjansson-dev libseccomp-dev libnftables-dev
      libnftnl-dev libcurl4-openssl-dev libssl-dev
      busybox-static iproute2 nftables util-linux procps xz-utils uidmap passt"
# tests: busted, lint (clang-format, luacheck, cppcheck), the cgroup v2 VM
# (qemu-system-x86, cpio: tools/v2vm.sh), strace, keyctl, iptables (specs
# check that nothing is left in its tables), GNU time (soak figures),
# clang-14 + libclang-rt-14-dev (libFuzzer: spec/fuzz_spec.lua, tools/fuzz.sh),
# podman, containerd (spec/runc_podman_spec.lua, spec/runc_containerd_spec.lua run them on
# luac-runc); docker-registry, skopeo, umoci, apache2-utils (htpasswd): spec/registry_spec.lua
# runs a real registry on loopback; buildah: spec/build_spec.lua compares its builds with buildah bud;
# man-db, groff-base: the generated man pages (spec/cmds2_spec.lua)
# socat: spec/registry_token_spec.lua serves its token issuer (spec/token_issuer.lua) with it
TEST="lua-busted clang-format lua-check cppcheck qemu-system-x86 cpio strace keyutils iptables time
      clang-14 libclang-rt-14-dev podman containerd docker-registry skopeo umoci apache2-utils buildah
      man-db groff-base socat"
list=false
if [ "${1:-}" = --list ]; then list=true; shift; fi # print the packages, install nothing
case "${1:-}" in
  "") PKGS=$RUNTIME ;;
  --test) PKGS="$RUNTIME $TEST" ;;
  *) echo "usage: sh tools/install-deps.sh [--list] [--test]" >&2; exit 2 ;;
esac
if $list; then
  # shellcheck disable=SC2086
  printf '%s\n' $PKGS
  exit 0
fi
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
