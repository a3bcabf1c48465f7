#!/bin/sh
# bench/build.sh: a 5-step build of a small image (a busybox base made here,
# offline), cold and fully cached, by `luac-ctr build` and by `buildah bud
# --layers` (vfs storage, chroot isolation) in one run. Run as root from the
# source tree after building it; it runs itself in a private network
# namespace. Prints seconds per build (the median of RUNS, default 5).
set -eu
if [ "${BENCH_IN_NETNS:-}" != 1 ]; then
  exec unshare --net env BENCH_IN_NETNS=1 sh -c 'ip link set lo up && exec sh "$0" "$@"' "$0" "$@"
fi
SRC=$(cd "$(dirname "$0")/.." && pwd)
CTR="$SRC/build/luac-ctr"
RUNS=${RUNS:-5}
T=$(mktemp -d /tmp/luac-ctr-bench-build.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/rootfs/bin" "$T/rootfs/etc" "$T/rootfs/tmp" "$T/ctx"
cp /bin/busybox "$T/rootfs/bin/"
for a in sh cat ls echo mkdir true; do ln -s busybox "$T/rootfs/bin/$a"; done
tar -cf "$T/bb.tar" -C "$T/rootfs" .
echo "hello" > "$T/ctx/hello.txt"
cat > "$T/ctx/Containerfile" <<'CF'
FROM bbbase
RUN mkdir -p /app && echo built > /app/built
COPY hello.txt /app/
ENV GREETING=hi
CMD ["cat", "/app/hello.txt"]
CF
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' \
  > "$T/containers.conf"
bah() { CONTAINERS_CONF="$T/containers.conf" buildah --root "$T/bst" --runroot "$T/brun" --storage-driver vfs "$@"; }
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

ours_cold() { rm -rf "$T/root"; LUAC_CTR_ROOT="$T/root" "$CTR" import "$T/bb.tar" bbbase >/dev/null
  s=$(now); LUAC_CTR_ROOT="$T/root" "$CTR" build -q -t b:1 "$T/ctx" >/dev/null; e=$(now); echo "$e - $s" | bc; }
ours_cached() { s=$(now); LUAC_CTR_ROOT="$T/root" "$CTR" build -q -t b:1 "$T/ctx" >/dev/null; e=$(now); echo "$e - $s" | bc; }
bah_cold() { rm -rf "$T/bst" "$T/brun"; bah from --name w scratch >/dev/null; bah add w "$T/bb.tar" / >/dev/null
  bah commit -q w localhost/bbbase >/dev/null; bah rm w >/dev/null
  s=$(now); bah bud --layers --isolation chroot -q -t b:1 "$T/ctx" >/dev/null; e=$(now); echo "$e - $s" | bc; }
bah_cached() { s=$(now); bah bud --layers --isolation chroot -q -t b:1 "$T/ctx" >/dev/null; e=$(now); echo "$e - $s" | bc; }

for f in ours_cold ours_cached bah_cold bah_cached; do
  i=0; : > "$T/$f"
  while [ $i -lt "$RUNS" ]; do
    $f >> "$T/$f"; i=$((i + 1))
  done
done
printf '%-28s %8s %8s\n' "5-step build (s, median)" cold cached
printf '%-28s %8.3f %8.3f\n' "luac-ctr build" "$(median < "$T/ours_cold")" "$(median < "$T/ours_cached")"
printf '%-28s %8.3f %8.3f\n' "buildah bud --layers" "$(median < "$T/bah_cold")" "$(median < "$T/bah_cached")"
