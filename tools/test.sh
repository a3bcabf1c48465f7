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
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
lua5.4 /usr/bin/busted -o spec/json_summary.lua "$@" | tee "$out"
rc=${PIPESTATUS[0]}
set -e
grep -q -E '^[0-9]+ passed, [0-9]+ failed' "$out" || { echo "0 passed, 1 failed"; exit 1; }
exit "$rc"
