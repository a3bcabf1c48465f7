#!/bin/bash
# Run the libFuzzer targets of fuzz/ for a while each (default 60 s; full
# runs: longer). Builds them first in build-fuzz/ with clang (ASan + UBSan).
# Usage: bash tools/fuzz.sh [-t SECONDS] [-j JOBS] [TARGET...]
# FUZZ_SEED=N fixes libFuzzer's seed (CI does: a run is then repeatable).
#   targets: json cli ref oci tar (default: all)
# New inputs go to a scratch corpus (the seeds in fuzz/corpus/<target>/ stay
# as checked in); crashes are saved under $FUZZ_OUT (default
# build-fuzz/crashes/<target>/) and the script exits 1 naming them.
# Needs clang and libFuzzer (Debian: clang-14 libclang-rt-14-dev), and root
# for the tar target's private mount namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=60
jobs=1
while getopts "t:j:" o; do
  case $o in
    t) secs=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) echo "usage: tools/fuzz.sh [-t SECONDS] [-j JOBS] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=${*:-json cli ref oci tar}
B=${LUACTR_FUZZ_BUILD:-build-fuzz}
OUT=${FUZZ_OUT:-$B/crashes}
CC=$(command -v clang-14 || command -v clang) ||
  { echo "tools/fuzz.sh: clang is not installed (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }
cmake -S . -B "$B" -DCMAKE_C_COMPILER="$CC" -DLUACTR_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$B" -j"$(nproc)" --target fuzzers >/dev/null
scratch=$(mktemp -d /tmp/luac-ctr-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
failed=""
for t in $targets; do
  [ -x "$B/fuzz/fuzz_$t" ] || { echo "tools/fuzz.sh: no target $t" >&2; exit 2; }
  mkdir -p "$scratch/$t" "$OUT/$t"
  args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536
        -artifact_prefix="$OUT/$t/" -print_final_stats=1 "$scratch/$t" "fuzz/corpus/$t")
  [ "$jobs" -gt 1 ] && args=(-fork="$jobs" "${args[@]}")
  [ -n "${FUZZ_SEED:-}" ] && args=(-seed="$FUZZ_SEED" "${args[@]}")
  log="$scratch/$t.log"
  if [ "$t" = tar ]; then
    # the extraction's base on a private tmpfs: an escape cannot reach the host
    mkdir -p "$scratch/tarbase"
    cmd=(unshare --mount sh -c 'mount --make-rprivate / && mount -t tmpfs -o size=256m fuzz "$1" && FUZZ_TAR_BASE=$1 && export FUZZ_TAR_BASE && shift && exec "$@"' sh "$scratch/tarbase" "$B/fuzz/fuzz_$t")
  else
    cmd=("$B/fuzz/fuzz_$t")
  fi
  if "${cmd[@]}" "${args[@]}" >"$log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
    echo "fuzz $t: ${secs}s, ${execs:-?} inputs, $cov, no crash"
  else
    echo "fuzz $t: CRASH (log follows; inputs in $OUT/$t/)"
    grep -v '^#' "$log" | tail -40
    failed="$failed $t"
  fi
done
[ -z "$failed" ] || { echo "tools/fuzz.sh: crashes in:$failed"; exit 1; }
