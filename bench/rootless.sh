#!/bin/sh
# bench/rootless.sh - rootless `luac-ctr run --rm` against rootless
# `podman run --rm` (same image, same user, alternating so that a busy
# machine weighs on both alike), with --network none and with each one's
# default rootless network (ours: pasta; podman 4.3's: slirp4netns), then
# what --userns=auto costs against the default (bench/userns.lua, as root),
# in one run.
# Usage (as root, from the source tree, after a build in build/):
#   sh bench/rootless.sh [N=20]
# It runs in a network namespace of its own (a veth pair there gives pasta
# and slirp4netns a routable interface to copy), makes a user (removed at
# the end) with a subordinate id range, makes /dev/net/tun usable by it for
# the run (its mode is restored), builds a busybox image with umoci, serves
# it from docker-registry on loopback, and has both tools pull it as the
# user. podman runs with --runtime runc --cgroup-manager cgroupfs: its crun
# refuses this host's hybrid cgroups. Prints the mean milliseconds of each.
set -eu
N=${1:-20}
case $N in '' | *[!0-9]*) echo "usage: sh bench/rootless.sh [N]" >&2; exit 2 ;; esac
if [ "${LCTR_BENCH_NETNS:-}" != 1 ]; then
  exec env LCTR_BENCH_NETNS=1 unshare --net sh "$0" "$N"
fi
[ "$(id -u)" = 0 ] || { echo "bench/rootless.sh: run it as root (it makes a user)" >&2; exit 2; }
for t in podman runc umoci skopeo docker-registry pasta newuidmap curl; do
  command -v $t >/dev/null || { echo "bench/rootless.sh: $t is missing (tools/install-deps.sh --test)" >&2; exit 2; }
done
SRC=$(pwd)
L=$SRC/build/luac-ctr
USR=lctrbench$$
T=$(mktemp -d /tmp/lctr-rlbench.XXXXXX) && chmod 755 "$T"
TUN=$(stat -c %a /dev/net/tun)
RP=
cleanup() {
  [ -n "$RP" ] && kill "$RP" 2>/dev/null
  chmod "$TUN" /dev/net/tun
  as podman system reset -f >/dev/null 2>&1 || true
  userdel -r "$USR" >/dev/null 2>&1 || true
  sed -i "/^$USR:/d" /etc/subuid /etc/subgid
  rm -rf "$T"
}
trap cleanup EXIT
ip link set lo up
ip link add lctrbv0 type veth peer name lctrbv1
ip addr add 10.232.0.1/24 dev lctrbv0 && ip link set lctrbv1 up && ip link set lctrbv0 up
ip route add default via 10.232.0.254
chmod 0666 /dev/net/tun
useradd -m "$USR"
sed -i "/^$USR:/d" /etc/subuid /etc/subgid
echo "$USR:530000:65536" >> /etc/subuid && echo "$USR:530000:65536" >> /etc/subgid
H=$(getent passwd "$USR" | cut -d: -f6)
mkdir -p "$T/run" && chown "$USR" "$T/run" && chmod 700 "$T/run"
as() {
  (cd / && setpriv --reuid "$USR" --regid "$USR" --clear-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    HOME="$H" XDG_RUNTIME_DIR="$T/run" "$@")
}

# the image: busybox in one layer, on a registry on loopback
umoci init --layout "$T/lay" && umoci new --image "$T/lay:base"
umoci unpack --image "$T/lay:base" "$T/b" >/dev/null
(cd "$T/b/rootfs" && mkdir -p bin etc tmp && cp /bin/busybox bin/ && ln -s busybox bin/sh && ln -s busybox bin/true)
umoci repack --image "$T/lay:bb" "$T/b"
PORT=$((20000 + $$ % 30000))
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
  "$T/store" "$PORT" > "$T/r.yml"
docker-registry serve "$T/r.yml" > "$T/r.log" 2>&1 &
RP=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/v2/" && break; sleep 0.1; done
IMG=127.0.0.1:$PORT/bench/bb:1
skopeo copy -q --dest-tls-verify=false "oci:$T/lay:bb" "docker://$IMG"
as "$L" pull -q "$IMG" >/dev/null
as podman pull -q --tls-verify=false "$IMG" >/dev/null 2>"$T/podman.err" || { cat "$T/podman.err" >&2; exit 1; }
PODMAN="podman --runtime runc --cgroup-manager cgroupfs"

ms() { # the wall time of "$@" (as the user, output dropped) in ms
  t0=$(date +%s%N); as "$@" >/dev/null 2>&1 || echo "bench/rootless.sh: failed: $*" >&2; t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
bench() { # label-a cmd-a... -- label-b cmd-b...: N alternating runs each, after one warm-up
  la=$1; shift; a=""; while [ "$1" != -- ]; do a="$a $1"; shift; done; shift
  lb=$1; shift; b="$*"
  # shellcheck disable=SC2086
  ms $a >/dev/null; ms $b >/dev/null
  sa=0; sb=0
  for _ in $(seq "$N"); do
    # shellcheck disable=SC2086
    sa=$((sa + $(ms $a))); sb=$((sb + $(ms $b)))
  done
  printf '%-44s %7.1f ms\n%-44s %7.1f ms\n' "$la" "$(echo "$sa / $N" | bc -l)" "$lb" "$(echo "$sb / $N" | bc -l)"
}
echo "rootless run --rm $IMG sh -c true, as $USR (mean of $N):"
bench "luac-ctr run --rm --network none" "$L" run --rm --network none "$IMG" sh -c true -- \
  "podman run --rm --network none (runc)" $PODMAN run --rm --network none "$IMG" sh -c true
bench "luac-ctr run --rm (pasta)" "$L" run --rm "$IMG" sh -c true -- \
  "podman run --rm (slirp4netns, runc)" $PODMAN run --rm "$IMG" sh -c true
as "$L" rmi "$IMG" >/dev/null 2>&1 || true
echo "--userns=auto against the default (as root, bench/userns.lua):"
lua5.4 bench/userns.lua "$N"
