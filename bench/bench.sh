#!/bin/bash
# bench/bench.sh - start-up and exec latency of luac-ctr against crun, runc
# and nsenter on the same busybox root filesystem, in one run.
#
#   bash bench/bench.sh
#   RUNS=200 bash bench/bench.sh
#
# luac-ctr is measured as installed (cmake --install into a temporary prefix).
# What is timed (hyperfine -N, medians):
#   run : luac-ctr run --rm --network none busybox /bin/true
#         crun run / runc run of an OCI bundle whose rootfs is the same
#         busybox tree (namespaces pid, mnt, ipc, uts, net, cgroup: the same set)
#   exec: luac-ctr exec C /bin/true, crun exec, runc exec, nsenter -t PID -a
# Peak RSS (GNU time %M, KiB) of each command.
#
# crun 1.8 refuses this host's hybrid cgroup layout, so (as ../shared/peer-bench.sh
# does) every runtime runs in a private mount namespace where the cgroup2 mount
# /sys/fs/cgroup/unified is unmounted: all see the same pure v1 view. Everything
# also runs in a private network namespace. Nothing is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
RUNS=${RUNS:-100}
WARM=${WARM:-10}
B=${BENCH_DIR:-/tmp/luac-ctr-bench}
[ "$(id -u)" = 0 ] || { echo "bench.sh: run as root" >&2; exit 2; }

. bench/lib.sh
bench_enter "$0" "${1:-}" crun runc hyperfine time jq

export LUAC_CTR_ROOT=$B/root
rm -rf "$B"
mkdir -p "$B/bundle" "$B/bundle-sleep" "$B/res"
bench_install "$SRC" "$B"
LCTR="$B/inst/bin/luac-ctr"
cleanup() {
  crun delete -f lcb-crun-x >/dev/null 2>&1 || true
  runc delete -f lcb-runc-x >/dev/null 2>&1 || true
  "$LCTR" rm -f lcb-x >/dev/null 2>&1 || true
  rm -rf "$B"
}
trap cleanup EXIT

# the busybox image, and an OCI bundle over the very same layer
"$LCTR" run --rm --network none busybox true
layer=$(ls -d "$LUAC_CTR_ROOT"/layers/* | head -1)
(cd "$B/bundle" && runc spec)
jq --arg r "$layer" '.process.terminal=false | .process.args=["/bin/true"] | .root.path=$r | .root.readonly=true
  | .linux.namespaces += [{"type":"cgroup"}]' "$B/bundle/config.json" > "$B/c.json" && mv "$B/c.json" "$B/bundle/config.json"
jq '.process.args=["/bin/sleep","1000000"]' "$B/bundle/config.json" > "$B/bundle-sleep/config.json"

HF="hyperfine -N --style basic --warmup $WARM --runs $RUNS"
cd "$B/bundle"
$HF --export-json "$B/res/run.json" \
  -n luac-ctr "$LCTR run --rm --network none busybox /bin/true" \
  -n crun "crun run --bundle $B/bundle lcb-crun" \
  -n runc "runc run --bundle $B/bundle lcb-runc" >/dev/null

"$LCTR" run -d --network none --name lcb-x busybox sleep 1000000 >/dev/null
crun run -d --bundle "$B/bundle-sleep" lcb-crun-x </dev/null >/dev/null
runc run -d --bundle "$B/bundle-sleep" lcb-runc-x </dev/null >/dev/null
pid=$(crun state lcb-crun-x | jq .pid)
$HF --export-json "$B/res/exec.json" \
  -n luac-ctr-exec "$LCTR exec lcb-x /bin/true" \
  -n crun-exec "crun exec lcb-crun-x /bin/true" \
  -n runc-exec "runc exec lcb-runc-x /bin/true" \
  -n nsenter "nsenter -t $pid -a /bin/true" >/dev/null

rss() { # label cmd...: median peak RSS over 11 runs
  local label=$1; shift
  for _ in $(seq 11); do /usr/bin/time -f %M "$@" 2>&1 >/dev/null </dev/null | tail -1; done | sort -n | sed -n 6p |
    sed "s/^/$label /"
}
{
  rss luac-ctr-run "$LCTR" run --rm --network none busybox /bin/true
  rss crun-run crun run --bundle "$B/bundle" lcb-crun
  rss runc-run runc run --bundle "$B/bundle" lcb-runc
  rss luac-ctr-exec "$LCTR" exec lcb-x /bin/true
  rss crun-exec crun exec lcb-crun-x /bin/true
  rss runc-exec runc exec lcb-runc-x /bin/true
} > "$B/res/rss.txt"

report() { # json ref
  jq -r --arg ref "$2" '(.results | map({key: .command, value: .median}) | from_entries) as $m
    | .results[] | "| \(.command) | \(.median*1000*100|round/100) | \(.mean*1000*100|round/100) | \(.min*1000*100|round/100) | \(($m[.command] / $m[$ref])*100|round/100) |"' "$1"
}
echo "## luac-ctr benchmark ($(date -u +%F), $RUNS runs, $(nproc) cores, kernel $(uname -r))"
echo
echo "### run --rm busybox /bin/true"
echo "| command | median ms | mean ms | min ms | ratio to crun |"
echo "|---|---|---|---|---|"
report "$B/res/run.json" crun
echo
echo "### exec /bin/true into a running container"
echo "| command | median ms | mean ms | min ms | ratio to crun exec |"
echo "|---|---|---|---|---|"
report "$B/res/exec.json" crun-exec
echo
echo "### peak RSS (KiB, median of 11, GNU time %M)"
echo "| command | KiB |"
echo "|---|---|"
sed 's/^\(\S*\) \(.*\)$/| \1 | \2 |/' "$B/res/rss.txt"
