#!/bin/bash
# The full soak (issue 17): 2000 `run --rm`, 2000 `exec`, 500 `run -d` /
# `rm -f` pairs in one state root, with the supervisor's and the CLI's RSS,
# the supervisor's fd count and the state root's size sampled (bench/soak.lua);
# they must stay flat. Usage (as root): bash tools/soak.sh [RUNS EXECS PAIRS]
# Runs in a private network namespace; leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "tools/soak.sh: run as root" >&2; exit 2; }
export LUAC_CTR_BUILD=${LUAC_CTR_BUILD:-build}
exec unshare --net sh -c 'ip link set lo up && exec "$@"' sh \
  lua5.4 bench/soak.lua "${1:-2000}" "${2:-2000}" "${3:-500}" "${SOAK_SAMPLES:-20}"
