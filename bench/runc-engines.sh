#!/bin/bash
# bench/runc-engines.sh - luac-runc under the engines, against runc, in one run:
#   podman --runtime R run --rm --network none IMAGE /bin/true   (R = luac-runc, runc)
#   ctr run --rm --runc-binary R IMAGE ID /bin/true              (containerd 1.6's runc shim)
#   R run --bundle B ID: create + start + wait + delete of a minimal bundle
#                        (/bin/true on the busybox rootfs; R = luac-runc, crun, runc)
#   R create, R start, R delete --force: the same as three commands (luac-runc, crun)
#
#   bash bench/runc-engines.sh
#   RUNS=20 bash bench/runc-engines.sh
#
# luac-runc is measured as installed (cmake --install into a temporary
# prefix). podman and containerd get their own roots in a temporary directory
# (podman: vfs storage, cgroupfs, the default_ulimits this host needs, see the
# README; containerd: started here, native snapshotter, killed by its pid at
# the end). The image is a busybox tarball (podman import, ctr image import of
# a docker archive). Everything runs in a private network namespace and, as in
# bench.sh (crun 1.8 refuses this host's hybrid cgroup layout), a private mount
# namespace without /sys/fs/cgroup/unified; nothing is left behind. Prints hyperfine's mean and median (ms) per command.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
RUNS=${RUNS:-20}
WARM=${WARM:-3}
B=${BENCH_DIR:-/tmp/luac-runc-engines-bench}
[ "$(id -u)" = 0 ] || { echo "runc-engines.sh: run as root" >&2; exit 2; }
for p in podman containerd ctr runc crun hyperfine jq; do
  command -v "$p" >/dev/null || { echo "runc-engines.sh: $p is missing (tools/install-deps.sh --test)" >&2; exit 2; }
done
. bench/lib.sh
bench_enter "$0" "${1:-}"

rm -rf "$B"
mkdir -p "$B/rootfs/bin" "$B/rootfs/etc" "$B/rootfs/tmp" "$B/rootfs/proc" "$B/rootfs/sys" "$B/rootfs/dev" "$B/img" "$B/res"
bench_install "$SRC" "$B"
LRUNC="$B/inst/bin/luac-runc"
RUNC=$(command -v runc)
CDPID=""
had_run_containerd=false
[ -e /run/containerd ] && had_run_containerd=true
cleanup() {
  set +e
  [ -n "${PODMAN:-}" ] && $PODMAN rm -af -t 0 >/dev/null 2>&1
  if [ -n "$CDPID" ]; then
    kill "$CDPID"
    while kill -0 "$CDPID" 2>/dev/null; do sleep 0.1; done
  fi
  for d in "$B"/storage/*/*; do umount -l "$d" 2>/dev/null; done
  rm -rf "$B"
  $had_run_containerd || rmdir /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null
  for h in /sys/fs/cgroup/*/; do rmdir "$h/bench" 2>/dev/null; done
  true
}
trap cleanup EXIT

# a busybox rootfs; a tarball for podman, a docker archive for containerd
cp /bin/busybox "$B/rootfs/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$B/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$B/rootfs/etc/passwd"
echo 'root:x:0:' >"$B/rootfs/etc/group"
tar -C "$B/rootfs" -cf "$B/bb.tar" .
cp "$B/bb.tar" "$B/img/layer.tar"
digest=$(sha256sum "$B/img/layer.tar" | cut -d' ' -f1)
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$digest" >"$B/img/config.json"
echo '[{"Config":"config.json","RepoTags":["localhost/bb:1"],"Layers":["layer.tar"]}]' >"$B/img/manifest.json"
tar -C "$B/img" -cf "$B/bb-docker.tar" manifest.json config.json layer.tar

# podman
cat >"$B/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
PODMAN="env CONTAINERS_CONF=$B/containers.conf podman --root $B/storage --runroot $B/runroot --tmpdir $B/tmpdir
  --network-config-dir $B/net --storage-driver vfs --cgroup-manager cgroupfs"
$PODMAN import "$B/bb.tar" localhost/bb:1 >/dev/null

# containerd
cat >"$B/config.toml" <<EOF
version = 2
root = "$B/cd-root"
state = "$B/cd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$B/c.sock"
[ttrpc]
  address = "$B/c.sock.ttrpc"
[metrics]
  address = ""
EOF
containerd --config "$B/config.toml" >"$B/containerd.log" 2>&1 &
CDPID=$!
CTR="ctr -a $B/c.sock -n bench"
for _ in $(seq 100); do $CTR version >/dev/null 2>&1 && break; sleep 0.1; done
export CONTAINERD_SNAPSHOTTER=native
$CTR image import "$B/bb-docker.tar" >/dev/null

HF="hyperfine -N --style basic --warmup $WARM --runs $RUNS"
$HF --export-json "$B/res/engines.json" \
  -n podman-luac-runc "$PODMAN --runtime $LRUNC run --rm --network none localhost/bb:1 /bin/true" \
  -n podman-runc "$PODMAN --runtime $RUNC run --rm --network none localhost/bb:1 /bin/true" \
  -n ctr-luac-runc "$CTR run --rm --runc-binary $LRUNC --runc-root $B/r1 --fifo-dir $B/fifo localhost/bb:1 b1 /bin/true" \
  -n ctr-runc "$CTR run --rm --runc-binary $RUNC --runc-root $B/r2 --fifo-dir $B/fifo localhost/bb:1 b2 /bin/true" \
  >/dev/null
# the runtimes alone: one minimal bundle (runc's default spec, /bin/true, read-only root)
mkdir -p "$B/bundle"
(cd "$B/bundle" && runc spec)
jq --arg r "$B/rootfs" '.process.terminal=false | .process.args=["/bin/true"] | .root.path=$r' \
  "$B/bundle/config.json" >"$B/c.json" && mv "$B/c.json" "$B/bundle/config.json"
# create + start + delete as three commands (what an engine's shim runs; delete --force:
# /bin/true may not have exited yet), through one sh for both runtimes
csd() { echo "sh -c '$1 --root $2 create --bundle $B/bundle $3 && $1 --root $2 start $3 && $1 --root $2 delete --force $3'"; }
$HF --export-json "$B/res/runtimes.json" \
  -n luac-runc-run "$LRUNC --root $B/lr run --bundle $B/bundle lb1" \
  -n crun-run "crun --root $B/cr run --bundle $B/bundle lb2" \
  -n runc-run "$RUNC --root $B/rr run --bundle $B/bundle lb3" \
  -n luac-runc-create-start-delete "$(csd "$LRUNC" "$B/lr" lb4)" \
  -n crun-create-start-delete "$(csd crun "$B/cr" lb5)" >/dev/null
echo "| command | mean ms | median ms | stddev ms |"
echo "| --- | ---: | ---: | ---: |"
jq -r '.results[] | "| \(.command) | \(.mean*1000|.*100|round/100) | \(.median*1000|.*100|round/100) | \(.stddev*1000|.*100|round/100) |"' \
  "$B/res/engines.json" "$B/res/runtimes.json"
