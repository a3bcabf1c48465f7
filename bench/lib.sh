# bench/lib.sh - what the bench scripts share; sourced, not run.

# bench_enter SCRIPT FIRST_ARG TOOL...: unless FIRST_ARG is __inns (already
# inside), install the TOOLs that are missing (Debian packages of the same
# name) and re-execute SCRIPT with __inns in a private mount namespace
# without the cgroup2 mount (crun 1.8 refuses this host's hybrid cgroup
# layout; all runtimes then see the same pure v1 view, as
# ../shared/peer-bench.sh does) and a private network namespace with lo up.
bench_enter() {
  local script=$1 first=$2 p need=""
  shift 2
  [ "$first" = __inns ] && return 0
  for p in "$@"; do type -P "$p" >/dev/null || need="$need $p"; done
  if [ -n "$need" ]; then
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
  fi
  exec unshare -m -n --propagation private bash -c \
    'umount /sys/fs/cgroup/unified 2>/dev/null; ip link set lo up; exec bash "$0" __inns' "$script"
}

# bench_install SRC DIR: a Release build of SRC installed under DIR/inst, so
# that the product is measured as installed (precompiled Lua modules).
bench_install() {
  cmake -S "$1" -B "$2/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$2/inst" >/dev/null
  cmake --build "$2/build" -j"$(nproc)" >/dev/null
  cmake --install "$2/build" >/dev/null
}

# bench_bundles DIR LAYER: OCI bundles DIR/bundle (/bin/true) and
# DIR/bundle-sleep (sleep 1000000) over the read-only busybox LAYER, with their
# own network and cgroup namespaces (crun spec's defaults otherwise).
bench_bundles() {
  mkdir -p "$1/bundle" "$1/bundle-sleep"
  (cd "$1/bundle" && crun spec)
  jq --arg r "$2" '.process.terminal=false | .process.args=["/bin/true"] | .root.path=$r | .root.readonly=true
    | .linux.namespaces |= (map(select(.type != "network")) + [{"type":"network"}, {"type":"cgroup"}])' \
    "$1/bundle/config.json" > "$1/c.json" && mv "$1/c.json" "$1/bundle/config.json"
  jq '.process.args=["/bin/sleep","1000000"]' "$1/bundle/config.json" > "$1/bundle-sleep/config.json"
}
