#!/bin/bash
# bench/pull.sh - pull of a ~200 MB four-layer image from a loopback
# registry: luac-ctr pull against skopeo copy (to an OCI layout: download and
# verify, no unpacking) and podman pull (vfs storage: download, verify,
# unpack), in one run, each from an empty store, RUNS times (median).
#
#   bash bench/pull.sh          RUNS=5 bash bench/pull.sh
#
# The registry is Debian's docker-registry on a random 127.0.0.1 port in a
# private network namespace; the image (umoci) holds 4 layers of 50 MB of
# random data each (gzip cannot shrink them), pushed with skopeo. Nothing is
# left behind: the registry (only its own pid) is stopped, $B removed.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
RUNS=${RUNS:-3}
B=${BENCH_DIR:-/tmp/luac-ctr-bench-pull}
[ "$(id -u)" = 0 ] || { echo "pull.sh: run as root" >&2; exit 2; }
if [ "${1:-}" != __inns ]; then
  exec unshare --net bash -c 'ip link set lo up && exec bash "$0" __inns' "$0"
fi
LUACTR=${LUACTR:-$SRC/build/luac-ctr}
rm -rf "$B" && mkdir -p "$B"
PORT=$((20000 + RANDOM % 30000))
cat > "$B/reg.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $B/storage
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$B/reg.yml" > "$B/reg.log" 2>&1 &
REG=$!
cleanup() { kill "$REG" 2>/dev/null || true; wait "$REG" 2>/dev/null || true; rm -rf "$B"; }
trap cleanup EXIT
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/v2/" && break; sleep 0.1; done

umoci init --layout "$B/lay" && umoci new --image "$B/lay:base"
tag=base
for i in 1 2 3 4; do
  umoci unpack --image "$B/lay:$tag" "$B/b$i" >/dev/null
  head -c 50000000 /dev/urandom > "$B/b$i/rootfs/data$i"
  [ "$i" = 1 ] && { mkdir -p "$B/b1/rootfs/bin"; cp /bin/busybox "$B/b1/rootfs/bin/"; }
  umoci repack --image "$B/lay:l$i" "$B/b$i"
  rm -rf "$B/b$i"
  tag=l$i
done
skopeo copy -q --dest-tls-verify=false "oci:$B/lay:l4" "docker://127.0.0.1:$PORT/bench/big:1"
REF=127.0.0.1:$PORT/bench/big:1
PODMAN="podman --root $B/pod --runroot $B/podrun --tmpdir $B/podtmp --storage-driver vfs --cgroup-manager cgroupfs"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timeit() { # name, setup, command
  local t
  for _ in $(seq "$RUNS"); do
    eval "$2"
    local s; s=$(date +%s.%N)
    eval "$3" >/dev/null 2>&1
    t=$(echo "$(date +%s.%N) - $s" | bc)
    echo "$t"
  done | median | xargs printf "%-10s %6.2f s\n" "$1"
}
echo "pull of $REF (4 x 50 MB layers), median of $RUNS:"
timeit luac-ctr "rm -rf $B/st" "LUAC_CTR_ROOT=$B/st $LUACTR pull -q $REF"
timeit skopeo "rm -rf $B/sk" "skopeo copy -q --src-tls-verify=false docker://$REF oci:$B/sk:1"
timeit podman "$PODMAN rmi -af >/dev/null 2>&1 || true; rm -rf $B/pod" "$PODMAN pull -q --tls-verify=false $REF"
$PODMAN rmi -af >/dev/null 2>&1 || true
