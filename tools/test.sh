#!/bin/bash
# The whole test suite: install dependencies, build from scratch, run every
# spec as root with Lua 5.4, print "N passed, M failed" and exit non-zero on
# any failure. Usage (as root, from the source tree): bash tools/test.sh [busted args]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "tools/test.sh: the specs need root (namespaces, mounts, cgroups)" >&2; exit 2; }
sh tools/install-deps.sh
export LUAC_CTR_BUILD=${LUAC_CTR_BUILD:-build}
cmake -S . -B "$LUAC_CTR_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$LUAC_CTR_BUILD" -j"$(nproc)" >/dev/null
# The cgroup v2 specs boot Debian's kernel under qemu (tools/v2vm.sh); fetch
# it now, while the network is there (the specs themselves run without one).
bash tools/v2vm.sh --prepare >/dev/null || echo "warning: cannot fetch the kernel of the cgroup v2 VM" >&2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
# Specs run in a private network namespace (only lo, up): bridges, veths and
# firewall rules that containers make never reach the host's network.
# A hung spec must not outlive CI's time: the whole run gets 40 minutes (it
# takes about 7).
unshare --net sh -c 'ip link set lo up && exec "$@"' sh \
  timeout -k 30 2400 lua5.4 /usr/bin/busted -o spec/json_summary.lua "$@" | tee "$out"
rc=${PIPESTATUS[0]}
set -e
grep -q -E '^[0-9]+ passed, [0-9]+ failed' "$out" || { echo "0 passed, 1 failed"; exit 1; }
exit "$rc"
