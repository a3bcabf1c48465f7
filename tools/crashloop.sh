#!/bin/bash
# The full crash loops (issue 17): spec/crash_loop_spec.lua with 100 SIGKILLs
# per command (`run -d`, `rm -f`, `commit`, `import`, `network create`,
# `network rm`) instead of CI's 6. Usage (as root): bash tools/crashloop.sh [N]
# CRASHLOOP_SEED=S repeats a run's random delays (each run prints its seed).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "tools/crashloop.sh: run as root" >&2; exit 2; }
export LUAC_CTR_BUILD=${LUAC_CTR_BUILD:-build}
export CRASHLOOP_N=${1:-100}
exec unshare --net sh -c 'ip link set lo up && exec "$@"' sh \
  lua5.4 /usr/bin/busted spec/crash_loop_spec.lua
