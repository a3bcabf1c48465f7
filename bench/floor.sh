#!/bin/bash
# bench/floor.sh - what a luac-ctr `run` and `exec` cost before they do any
# work, step by step, next to the same steps of crun and of the kernel, in
# one run: the floor under issue 15's ratios (README, Performance).
#
#   bash bench/floor.sh            # RUNS=40
#
# Rows (medians; each row adds one thing to the one above it):
#   static-exit      fork + execve + exit of a static program that does nothing
#   true             /bin/true (dynamically linked: ld.so and libc)
#   crun --version   crun's own start-up (its libraries), no work
#   launcher         luac-ctr --version: the launcher's execve, no Lua, no re-exec
#   sealed-lua       luac-ctr FILE with an empty FILE: + the sealed re-exec
#                    (CVE-2019-5736) + the Lua state
#   ctr.core         + require "ctr.core" (core.so, libcap, libjansson, libseccomp)
#   run-modules      + every Lua module a `run --rm --network none` loads
#                    (recorded from a real run)
#   nsenter -a       nsenter into the container and /bin/true: the kernel's floor of an exec
#   exec / crun exec luac-ctr exec C /bin/true, crun exec
#   run / crun run   luac-ctr run --rm --network none /bin/true, crun run of a bundle
#
# Like matrix.sh: a Release build installed under BENCH_DIR, a private mount
# namespace without the cgroup2 mount, a private network namespace; nothing
# is left behind. Not run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
RUNS=${RUNS:-40}
B=${BENCH_DIR:-/tmp/luac-ctr-floor}
[ "$(id -u)" = 0 ] || { echo "floor.sh: run as root" >&2; exit 2; }

. bench/lib.sh
bench_enter "$0" "${1:-}" crun hyperfine jq bc

export LUAC_CTR_ROOT=$B/root
rm -rf "$B"
mkdir -p "$B/lua"
bench_install "$SRC" "$B"
L="$B/inst/bin/luac-ctr"
cleanup() {
  set +e
  crun delete -f lcf-x >/dev/null 2>&1
  "$L" rm -f lcf-x >/dev/null 2>&1
  rm -rf "$B"
}
trap cleanup EXIT

printf 'int main(void) { return 0; }\n' > "$B/exit.c"
cc -O2 -static -o "$B/static-exit" "$B/exit.c"

# the modules a run loads, recorded from a real one (the launcher's own excepted)
cat > "$B/lua/floor_record.lua" <<'EOF'
local exit = os.exit
os.exit = function(...)
  local f = assert(io.open(os.getenv("FLOOR_OUT"), "w"))
  for name in pairs(package.loaded) do
    if name:match("^ctr%.") and name ~= "ctr.launcher" then f:write(name, "\n") end
  end
  f:close()
  return exit(...)
end
return {}
EOF
"$L" run --rm --network none busybox true # the image, before anything is timed
FLOOR_OUT=$B/mods.txt LUA_PATH="$B/lua/?.lua;;" "$L" -l floor_record run --rm --network none busybox true
: > "$B/empty.lua"
echo 'require "ctr.core"' > "$B/core.lua"
sed 's/.*/require "&"/' "$B/mods.txt" > "$B/mods.lua"

layer=$(ls -d "$LUAC_CTR_ROOT"/layers/* | head -1)
bench_bundles "$B" "$layer"
"$L" run -d --name lcf-x --network none busybox sleep 1000000 >/dev/null
crun run -d --bundle "$B/bundle-sleep" lcf-x </dev/null >/dev/null
pid=$("$L" inspect -f '{{.State.Pid}}' lcf-x)

cd "$B/bundle"
hyperfine -N --style basic --warmup 3 --runs "$RUNS" --export-json "$B/floor.json" \
  -n static-exit "$B/static-exit" -n true /bin/true -n "crun --version" "crun --version" \
  -n launcher "$L --version" -n sealed-lua "$L $B/empty.lua" -n ctr.core "$L $B/core.lua" \
  -n run-modules "$L $B/mods.lua" -n "nsenter -a" "nsenter -a -t $pid /bin/true" \
  -n exec "$L exec lcf-x /bin/true" -n "crun exec" "crun exec lcf-x /bin/true" \
  -n run "$L run --rm --network none busybox /bin/true" \
  -n "crun run" "crun run --bundle $B/bundle lcf-crun" >/dev/null

echo "## luac-ctr floor ($(date -u '+%F %H:%M UTC'), $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "$(wc -l < "$B/mods.txt") Lua modules loaded by run --rm --network none"
echo
echo "| step | median ms |"
echo "|---|---|"
jq -r '.results[] | "| \(.command) | \(.median * 1000 * 10 | round / 10) |"' "$B/floor.json"
m() { jq -r --arg c "$1" '.results[] | select(.command == $c) | .median * 1000' "$B/floor.json"; }
f() { printf '%.1f' "$(echo "$1" | bc -l)"; }
echo
echo "run's start-up before any work (run-modules): $(f "$(m run-modules)") ms; issue 15's targets:" \
  "run --rm --network none <= 0.8x crun run = $(f "0.8 * $(m 'crun run')") ms (now $(f "$(m run)"))," \
  "exec <= 0.6x crun exec = $(f "0.6 * $(m 'crun exec')") ms (now $(f "$(m exec)");" \
  "nsenter -a alone $(f "$(m 'nsenter -a')"))"
