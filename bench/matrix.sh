#!/bin/bash
# bench/matrix.sh - every row of issue 15's target table in one run, against
# crun and (when installed; PODMAN=0 leaves it out) podman with runc.
#
#   bash bench/matrix.sh                       # RUNS=30 N=100 PS=1000 PAR=50
#   RUNS=10 N=20 PS=200 PAR=10 bash bench/matrix.sh   # a quick look
#
# Rows (medians of RUNS; luac-ctr as installed, precompiled modules):
#   run-bridge  luac-ctr run --rm busybox /bin/true (default bridge network)
#   run-none    luac-ctr run --rm --network none busybox /bin/true
#               both against crun run of a bundle over the same busybox
#               layer with its own (empty) network namespace, and podman run
#               --rm (its default network, and --network none)
#   exec        luac-ctr exec C /bin/true against crun exec (and podman exec)
#   lifecycle   N x run -d (default network, sleep), then one rm -f of all N,
#               and the same for N/2 (linear: the time per container is the
#               same); podman the same (run -d N times, one rm -f -t 0);
#               crun (no network): run -d N bundles, delete -f each
#   ps          luac-ctr ps -a with PS exited containers in a root of its own
#               (one real container, its state and config copied PS times),
#               and inspect of one by name there (the name index)
#   parallel    PAR parallel run --rm on the default network: wall time, how
#               many succeeded, and every wait for a lock another process
#               held ($LUAC_CTR_LOCK_LOG: which lock, how long)
# Peak RSS (GNU time %M, median of 11) of the run and exec rows.
#
# Everything runs in a private mount namespace without the cgroup2 mount
# (crun 1.8 refuses the hybrid layout; podman is given runc and a
# containers.conf of its own: cgroupfs, its storage under BENCH_DIR, and
# default_ulimits, since without CAP_SYS_RESOURCE its default NPROC limit
# fails) and a private network namespace. Nothing is left behind. Not run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
RUNS=${RUNS:-30}
WARM=${WARM:-3}
N=${N:-100}
PS=${PS:-1000}
PAR=${PAR:-50}
B=${BENCH_DIR:-/tmp/luac-ctr-matrix}
[ "$(id -u)" = 0 ] || { echo "matrix.sh: run as root" >&2; exit 2; }

. bench/lib.sh
bench_enter "$0" "${1:-}" crun hyperfine jq bc time
# podman's cgroup parents, to remove afterwards only when this run made them
PRE_LIBPOD=$(ls -d /sys/fs/cgroup/*/libpod_parent 2>/dev/null | tr '\n' ' ' || true)

export LUAC_CTR_ROOT=$B/root
rm -rf "$B"
mkdir -p "$B/res"
bench_install "$SRC" "$B"
L="$B/inst/bin/luac-ctr"
PODMAN=${PODMAN:-1}
command -v podman >/dev/null || PODMAN=0
P="podman --runtime runc"
cleanup() {
  set +e
  for id in $(crun list -q 2>/dev/null | grep '^lcm-'); do crun delete -f "$id" >/dev/null 2>&1; done
  "$L" ps -aq 2>/dev/null | xargs -r "$L" rm -f >/dev/null 2>&1
  "$L" network rm bridge >/dev/null 2>&1
  if [ "$PODMAN" = 1 ]; then
    $P rm -af -t 0 >/dev/null 2>&1
    for d in /sys/fs/cgroup/*/libpod_parent; do
      case " $PRE_LIBPOD " in *" $d "*) ;; *) [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null ;; esac
    done
  fi
  # podman's storage mounts (in this namespace only; deepest first)
  awk -v b="$B/" 'index($5, b) == 1 {print length($5), $5}' /proc/self/mountinfo | sort -rn | cut -d' ' -f2- |
    while read -r m; do umount -l "$m"; done
  rm -rf "$B"
}
trap cleanup EXIT

# the busybox image, the default network, and an OCI bundle over the same layer
"$L" run --rm busybox true
layer=$(ls -d "$LUAC_CTR_ROOT"/layers/* | head -1)
bench_bundles "$B" "$layer"

if [ "$PODMAN" = 1 ]; then
  mkdir -p "$B/podman"/{root,run,tmp,net}
  cat > "$B/podman/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$B/podman/events.log"
tmp_dir = "$B/podman/tmp"
[network]
network_config_dir = "$B/podman/net"
EOF
  printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' "$B/podman/root" "$B/podman/run" > "$B/podman/storage.conf"
  export CONTAINERS_CONF=$B/podman/containers.conf CONTAINERS_STORAGE_CONF=$B/podman/storage.conf
  tar -C "$layer" -c . | podman import -q - localhost/busybox:latest >/dev/null
  $P run --rm localhost/busybox true # its default network made before timing
fi

HF="hyperfine -N --style basic --warmup $WARM --runs $RUNS"
PRUNS=$(( RUNS < 10 ? RUNS : 10 )) # podman takes ~10x longer per run
cd "$B/bundle"
$HF --export-json "$B/res/run.json" \
  -n run-bridge "$L run --rm busybox /bin/true" \
  -n run-none "$L run --rm --network none busybox /bin/true" \
  -n crun "crun run --bundle $B/bundle lcm-crun" >/dev/null
if [ "$PODMAN" = 1 ]; then
  hyperfine -N --style basic --warmup 1 --runs "$PRUNS" --export-json "$B/res/prun.json" \
    -n podman-bridge "$P run --rm localhost/busybox /bin/true" \
    -n podman-none "$P run --rm --network none localhost/busybox /bin/true" >/dev/null
fi

"$L" run -d --name lcm-x busybox sleep 1000000 >/dev/null
crun run -d --bundle "$B/bundle-sleep" lcm-crun-x </dev/null >/dev/null
$HF --export-json "$B/res/exec.json" \
  -n luac-ctr-exec "$L exec lcm-x /bin/true" \
  -n crun-exec "crun exec lcm-crun-x /bin/true" >/dev/null
if [ "$PODMAN" = 1 ]; then
  $P run -d --name lcm-px localhost/busybox sleep 1000000 >/dev/null
  hyperfine -N --style basic --warmup 1 --runs "$PRUNS" --export-json "$B/res/pexec.json" \
    -n podman-exec "$P exec lcm-px /bin/true" >/dev/null
  $P rm -f -t 0 lcm-px >/dev/null
fi
rss() { # label cmd...: median peak RSS over 11 runs
  local label=$1; shift
  for _ in $(seq 11); do /usr/bin/time -f %M "$@" 2>&1 >/dev/null </dev/null | tail -1; done | sort -n | sed -n 6p |
    sed "s/^/$label /"
}
rss luac-ctr-exec "$L" exec lcm-x /bin/true > "$B/res/rss-exec.txt"
"$L" rm -f lcm-x >/dev/null
crun delete -f lcm-crun-x >/dev/null

now() { date +%s.%N; }
ms() { echo "($2 - $1) * 1000" | bc -l | xargs printf '%.0f'; }
# lifecycle COUNT: run -d COUNT containers, then one rm -f of them all; "start_ms rm_ms"
lifecycle() {
  local n=$1 t0 t1 t2 ids=()
  t0=$(now)
  for ((i = 0; i < n; i++)); do ids+=("$("$L" run -d busybox sleep 1000000)"); done
  t1=$(now)
  "$L" rm -f "${ids[@]}" >/dev/null
  t2=$(now)
  [ -z "$("$L" ps -aq)" ] || { echo "matrix.sh: rm -f left containers" >&2; exit 1; }
  echo "$(ms "$t0" "$t1") $(ms "$t1" "$t2")"
}
pod_lifecycle() {
  local n=$1 t0 t1 t2 ids=()
  t0=$(now)
  for ((i = 0; i < n; i++)); do ids+=("$($P run -d localhost/busybox sleep 1000000)"); done
  t1=$(now)
  $P rm -f -t 0 "${ids[@]}" >/dev/null
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
half=$(( N / 2 > 0 ? N / 2 : 1 ))
read -r lh_start lh_rm <<<"$(lifecycle "$half")"
read -r lc_start lc_rm <<<"$(lifecycle "$N")"
read -r cr_start cr_rm <<<"$(crun_lifecycle "$N")"
if [ "$PODMAN" = 1 ]; then read -r pd_start pd_rm <<<"$(pod_lifecycle "$N")"; fi

# ps -a with PS exited containers: one real one, copied (ps reads state.json,
# and config.json's mtime for ties)
PSROOT=$B/psroot
id=$(LUAC_CTR_ROOT=$PSROOT "$L" run -d --name model --network none busybox true)
LUAC_CTR_ROOT=$PSROOT "$L" wait model >/dev/null
m=$PSROOT/containers/$id
for ((i = 1; i < PS; i++)); do
  nid=$(printf '%064x' "$i")
  mkdir -m 700 "$PSROOT/containers/$nid"
  sed -e "s/$id/$nid/g" -e "s/\"name\":\"model\"/\"name\":\"m$i\"/" "$m/state.json" > "$PSROOT/containers/$nid/state.json"
  cp "$m/config.json" "$PSROOT/containers/$nid/config.json"
  ln -s "$nid" "$PSROOT/names/m$i"
done
LUAC_CTR_ROOT=$PSROOT $HF --export-json "$B/res/ps.json" -n "ps-a" "$L ps -a" \
  -n "by-name" "$L inspect -f {{.Id}} model" >/dev/null
ps_count=$(LUAC_CTR_ROOT=$PSROOT "$L" ps -aq | wc -l)
rm -rf "$PSROOT"

# PAR parallel run --rm on the default network, lock waits logged
export LUAC_CTR_LOCK_LOG=$B/res/locks.log
: > "$LUAC_CTR_LOCK_LOG"
t0=$(now)
seq "$PAR" | xargs -P"$PAR" -I{} sh -c '"$0" run --rm busybox /bin/true && echo ok' "$L" > "$B/res/par.txt" 2>"$B/res/par.err" || true
t1=$(now)
unset LUAC_CTR_LOCK_LOG
par_ok=$(grep -c '^ok$' "$B/res/par.txt" || true)
lock_waits=$(wc -l < "$B/res/locks.log")
lock_ms=$(awk '{s += $2} END {printf "%.0f", s}' "$B/res/locks.log")
lock_by=$(awk '{n = $1; sub(".*/", "", n); c[n]++} END {for (k in c) printf "%s %d, ", k, c[k]}' "$B/res/locks.log" | sed 's/, $//')

{
  rss run-bridge "$L" run --rm busybox /bin/true
  rss run-none "$L" run --rm --network none busybox /bin/true
  rss crun crun run --bundle "$B/bundle" lcm-crun
  cat "$B/res/rss-exec.txt"
  [ "$PODMAN" = 1 ] && rss podman-bridge $P run --rm localhost/busybox /bin/true
} > "$B/res/rss.txt"

med() { jq -r --arg c "$2" '.results[] | select(.command == $c) | .median * 1000' "$1"; }
r() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
f1() { printf '%.1f' "$1"; }
rb=$(med "$B/res/run.json" run-bridge); rn=$(med "$B/res/run.json" run-none); rc=$(med "$B/res/run.json" crun)
el=$(med "$B/res/exec.json" luac-ctr-exec); ec=$(med "$B/res/exec.json" crun-exec)
pa=$(med "$B/res/ps.json" "ps-a"); pn1=$(med "$B/res/ps.json" "by-name")
pb="" pn="" pe="" pdl="-" pdr="-"
if [ "$PODMAN" = 1 ]; then
  pb=$(med "$B/res/prun.json" podman-bridge); pn=$(med "$B/res/prun.json" podman-none)
  pe=$(med "$B/res/pexec.json" podman-exec)
  pdl="$((pd_start + pd_rm)) ms ($pd_start + $pd_rm)"; pdr=$(r $((lc_start + lc_rm)) $((pd_start + pd_rm)))
fi
pod() { [ -n "$1" ] && echo "$(f1 "$1") ms ($(r "$2" "$1")x)" || echo "-"; }
echo "## luac-ctr matrix ($(date -u '+%F %H:%M UTC'), $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| what | luac-ctr | crun | ratio to crun | podman (luac-ctr's ratio) | target |"
echo "|---|---|---|---|---|---|"
echo "| run --rm /bin/true, default bridge network | $(f1 "$rb") ms | $(f1 "$rc") ms (no network) | $(r "$rb" "$rc") | $(pod "$pb" "$rb") | <= 1.3x crun |"
echo "| run --rm --network none /bin/true | $(f1 "$rn") ms | $(f1 "$rc") ms | $(r "$rn" "$rc") | $(pod "$pn" "$rn") | <= 0.8x crun |"
echo "| exec C /bin/true | $(f1 "$el") ms | $(f1 "$ec") ms | $(r "$el" "$ec") | $(pod "$pe" "$el") | <= 0.6x crun |"
echo "| run -d x$N then one rm -f, default network | $((lc_start + lc_rm)) ms ($lc_start + $lc_rm) | $((cr_start + cr_rm)) ms ($cr_start + $cr_rm, no network) | $(r $((lc_start + lc_rm)) $((cr_start + cr_rm))) | $pdl (${pdr}x) | <= 0.2x podman |"
echo "| the same x$half (linearity) | $((lh_start + lh_rm)) ms ($lh_start + $lh_rm) | per container: x$half $(r $((lh_start + lh_rm)) "$half") ms, x$N $(r $((lc_start + lc_rm)) "$N") ms | | | linear |"
echo "| ps -a with $ps_count containers | $(f1 "$pa") ms | | | | <= 50 ms |"
echo "| inspect NAME among $ps_count containers | $(f1 "$pn1") ms | | | | |"
echo "| $PAR parallel run --rm, one network | $(ms "$t0" "$t1") ms wall, $par_ok/$PAR succeeded | | | | all succeed |"
echo "| (lock waits in those $PAR runs) | $lock_waits waits, $lock_ms ms in all${lock_by:+ ($lock_by)} | | | | none beyond the kernel's |"
echo
echo "peak RSS (KiB, median of 11): $(tr '\n' ' ' < "$B/res/rss.txt")"
[ -s "$B/res/par.err" ] && { echo; echo "parallel run errors (first 5):"; head -5 "$B/res/par.err"; }
exit 0
