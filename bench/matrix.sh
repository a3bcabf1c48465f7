#!/bin/bash
# bench/matrix.sh - every row of issue 15's target table in one run, against
# crun (and podman when PODMAN=1 and podman is installed).
#
#   bash bench/matrix.sh                 # RUNS=50 N=100 PS=1000 PAR=50
#   RUNS=20 N=20 PS=200 bash bench/matrix.sh
#
# Rows (medians; luac-ctr as installed, precompiled modules):
#   run-bridge  luac-ctr run --rm busybox /bin/true (default bridge network)
#   run-none    luac-ctr run --rm --network none busybox /bin/true
#               both against crun run of a bundle over the same busybox layer
#               with its own (empty) network namespace
#   exec        luac-ctr exec C /bin/true against crun exec
#   lifecycle   run -d of N containers (default network, sleep) then one
#               rm -f of all N, timed as a whole, also for N/10 (linearity);
#               crun: run -d of N bundles then delete -f each; podman (PODMAN=1)
#   ps          luac-ctr ps -a with PS (exited) containers in the state root
#   parallel    PAR parallel run --rm on the default network: wall time, and
#               how many succeeded
# Peak RSS (GNU time %M) of the run rows.
#
# As bench/bench.sh: everything runs in a private mount namespace without the
# cgroup2 mount (crun 1.8 refuses the hybrid layout) and a private network
# namespace. Nothing is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
RUNS=${RUNS:-50}
WARM=${WARM:-5}
N=${N:-100}
PS=${PS:-1000}
PAR=${PAR:-50}
B=${BENCH_DIR:-/tmp/luac-ctr-matrix}
[ "$(id -u)" = 0 ] || { echo "matrix.sh: run as root" >&2; exit 2; }

if [ "${1:-}" != __inns ]; then
  for p in crun hyperfine jq; do command -v "$p" >/dev/null || NEED="${NEED:-} $p"; done
  [ -x /usr/bin/time ] || NEED="${NEED:-} time"
  if [ -n "${NEED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $NEED >/dev/null
  fi
  exec unshare -m -n --propagation private bash -c \
    'umount /sys/fs/cgroup/unified 2>/dev/null; ip link set lo up; exec bash "$0" __inns' "$0"
fi

export LUAC_CTR_ROOT=$B/root
rm -rf "$B"
mkdir -p "$B/bundle" "$B/bundle-sleep" "$B/res"
cmake -S "$SRC" -B "$B/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$B/inst" >/dev/null
cmake --build "$B/build" -j"$(nproc)" >/dev/null
cmake --install "$B/build" >/dev/null
L="$B/inst/bin/luac-ctr"
cleanup() {
  set +e
  for id in $(crun list -q 2>/dev/null | grep '^lcm-'); do crun delete -f "$id" >/dev/null 2>&1; done
  "$L" ps -aq 2>/dev/null | xargs -r "$L" rm -f >/dev/null 2>&1
  LUAC_CTR_ROOT=$B/psroot "$L" ps -aq 2>/dev/null | LUAC_CTR_ROOT=$B/psroot xargs -r "$L" rm -f >/dev/null 2>&1
  "$L" network rm bridge >/dev/null 2>&1
  rm -rf "$B"
}
trap cleanup EXIT

# the busybox image, the default network, and an OCI bundle over the same layer
"$L" run --rm busybox true
layer=$(ls -d "$LUAC_CTR_ROOT"/layers/* | head -1)
(cd "$B/bundle" && crun spec)
jq --arg r "$layer" '.process.terminal=false | .process.args=["/bin/true"] | .root.path=$r | .root.readonly=true
  | .linux.namespaces |= (map(select(.type != "network")) + [{"type":"network"}, {"type":"cgroup"}])' \
  "$B/bundle/config.json" > "$B/c.json" && mv "$B/c.json" "$B/bundle/config.json"
jq '.process.args=["/bin/sleep","1000000"]' "$B/bundle/config.json" > "$B/bundle-sleep/config.json"

HF="hyperfine -N --style basic --warmup $WARM --runs $RUNS"
cd "$B/bundle"
$HF --export-json "$B/res/run.json" \
  -n run-bridge "$L run --rm busybox /bin/true" \
  -n run-none "$L run --rm --network none busybox /bin/true" \
  -n crun "crun run --bundle $B/bundle lcm-crun" >/dev/null

"$L" run -d --name lcm-x busybox sleep 1000000 >/dev/null
crun run -d --bundle "$B/bundle-sleep" lcm-crun-x </dev/null >/dev/null
$HF --export-json "$B/res/exec.json" \
  -n luac-ctr-exec "$L exec lcm-x /bin/true" \
  -n crun-exec "crun exec lcm-crun-x /bin/true" >/dev/null
exec_rss=$(for _ in $(seq 11); do /usr/bin/time -f %M "$L" exec lcm-x /bin/true 2>&1 >/dev/null </dev/null | tail -1; done | sort -n | sed -n 6p)
"$L" rm -f lcm-x >/dev/null
crun delete -f lcm-crun-x >/dev/null

now() { date +%s.%N; }
ms() { echo "($2 - $1) * 1000" | bc -l | xargs printf '%.0f'; }
# lifecycle COUNT: run -d COUNT containers, then rm -f them all; "start_ms rm_ms"
lifecycle() {
  local n=$1 t0 t1 t2 ids=()
  t0=$(now)
  for ((i = 0; i < n; i++)); do ids+=("$("$L" run -d busybox sleep 1000000)"); done
  t1=$(now)
  "$L" rm -f "${ids[@]}" >/dev/null
  t2=$(now)
  echo "$(ms "$t0" "$t1") $(ms "$t1" "$t2")"
}
crun_lifecycle() {
  local n=$1 t0 t1 t2
  t0=$(now)
  for ((i = 0; i < n; i++)); do crun run -d --bundle "$B/bundle-sleep" "lcm-l$i" </dev/null >/dev/null; done
  t1=$(now)
  for ((i = 0; i < n; i++)); do crun delete -f "lcm-l$i" >/dev/null; done
  t2=$(now)
  echo "$(ms "$t0" "$t1") $(ms "$t1" "$t2")"
}
small=$(( N / 10 > 0 ? N / 10 : 1 ))
read -r lc_s_start lc_s_rm <<<"$(lifecycle "$small")"
read -r lc_start lc_rm <<<"$(lifecycle "$N")"
read -r cr_start cr_rm <<<"$(crun_lifecycle "$N")"
pod_line="| podman | not measured (PODMAN=1 and podman installed to include it) | | |"
if [ "${PODMAN:-0}" = 1 ] && command -v podman >/dev/null; then
  t0=$(now)
  for ((i = 0; i < N; i++)); do podman run -d --name "lcm-p$i" busybox sleep 1000000 >/dev/null; done
  t1=$(now)
  for ((i = 0; i < N; i++)); do podman rm -f -t 0 "lcm-p$i" >/dev/null; done
  t2=$(now)
  pod_line="| podman run -d x$N / rm -f | $(ms "$t0" "$t1") | $(ms "$t1" "$t2") | $(ms "$t0" "$t2") |"
fi

# ps -a with PS exited containers (a root of its own, filled 4 at a time)
export PSROOT=$B/psroot
seq "$PS" | LUAC_CTR_ROOT=$PSROOT xargs -P4 -I{} "$L" run -d --network none busybox true >/dev/null
sleep 1
LUAC_CTR_ROOT=$PSROOT $HF --export-json "$B/res/ps.json" -n "ps-a-$PS" "$L ps -a" >/dev/null
ps_count=$(LUAC_CTR_ROOT=$PSROOT "$L" ps -aq | wc -l)

# PAR parallel run --rm on the default network
t0=$(now)
seq "$PAR" | xargs -P"$PAR" -I{} sh -c '"$0" run --rm busybox /bin/true && echo ok' "$L" > "$B/res/par.txt" 2>"$B/res/par.err" || true
t1=$(now)
par_ok=$(grep -c '^ok$' "$B/res/par.txt" || true)

rss() { # label cmd...: median peak RSS over 11 runs
  local label=$1; shift
  for _ in $(seq 11); do /usr/bin/time -f %M "$@" 2>&1 >/dev/null </dev/null | tail -1; done | sort -n | sed -n 6p |
    sed "s/^/$label /"
}
{
  rss run-bridge "$L" run --rm busybox /bin/true
  rss run-none "$L" run --rm --network none busybox /bin/true
  rss crun crun run --bundle "$B/bundle" lcm-crun
  echo "luac-ctr-exec $exec_rss"
} > "$B/res/rss.txt"

med() { jq -r --arg c "$2" '.results[] | select(.command == $c) | .median * 1000' "$1"; }
r() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
rb=$(med "$B/res/run.json" run-bridge); rn=$(med "$B/res/run.json" run-none); rc=$(med "$B/res/run.json" crun)
el=$(med "$B/res/exec.json" luac-ctr-exec); ec=$(med "$B/res/exec.json" crun-exec)
pa=$(med "$B/res/ps.json" "ps-a-$PS")
echo "## luac-ctr matrix ($(date -u '+%F %H:%M UTC'), $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| what | luac-ctr | reference | ratio | target |"
echo "|---|---|---|---|---|"
printf '| run --rm /bin/true, default bridge network | %.1f ms | crun %.1f ms | %s | <= 1.3 |\n' "$rb" "$rc" "$(r "$rb" "$rc")"
printf '| run --rm --network none /bin/true | %.1f ms | crun %.1f ms | %s | <= 0.8 |\n' "$rn" "$rc" "$(r "$rn" "$rc")"
printf '| exec C /bin/true | %.1f ms | crun exec %.1f ms | %s | <= 0.6 |\n' "$el" "$ec" "$(r "$el" "$ec")"
echo "| run -d x$N then rm -f, default network | $((lc_start + lc_rm)) ms ($lc_start + $lc_rm) | crun (no network) $((cr_start + cr_rm)) ms | $(r $((lc_start + lc_rm)) $((cr_start + cr_rm))) | <= 0.2x podman |"
echo "| (linearity) the same x$small | $((lc_s_start + lc_s_rm)) ms ($lc_s_start + $lc_s_rm) | per container: $(r $((lc_s_start + lc_s_rm)) "$small") ms vs $(r $((lc_start + lc_rm)) "$N") ms | | linear |"
printf '| ps -a with %s containers | %.1f ms | | | <= 50 ms |\n' "$ps_count" "$pa"
echo "| $PAR parallel run --rm, one network | $(ms "$t0" "$t1") ms wall | $par_ok/$PAR succeeded | | all succeed |"
echo
echo "| podman | start ms | rm ms | total ms |"
echo "|---|---|---|---|"
echo "$pod_line"
echo
echo "peak RSS (KiB, median of 11): $(tr '\n' ' ' < "$B/res/rss.txt")"
[ -s "$B/res/par.err" ] && { echo; echo "parallel run errors (first 5):"; head -5 "$B/res/par.err"; }
exit 0
