-- run and exec on a real pure cgroup v2 kernel: the container path that this
-- hybrid machine cannot take (CLONE_INTO_CGROUP into a v2 cgroup with every
-- controller, memory.max / pids.max / cpu.max, OOM reporting through
-- memory.events, exec joining a v2 cgroup, the device policy as a BPF
-- program). Boots Debian's kernel under qemu
-- with tools/v2vm.sh inside this machine's own files (--hostroot)
-- and runs the launcher from this build there, with a state root on the
-- guest's tmpfs. The VM is thrown away afterwards. If it cannot start, this
-- spec fails.
local U = require "spec_util"

-- The guest script prints one "V2RUN <name> <value>" line per check.
local GUEST = [=[
set -u
L=%s/luac-ctr
export LUAC_CTR_ROOT=/tmp/lcv2
r() { "$L" run --rm --network none "$@"; }
echo "V2RUN layout $(grep -c cgroup2 /proc/mounts)"
echo "V2RUN cgroup $(r busybox cat /proc/self/cgroup | tr '\n' ' ')"
r -m 32m --memory-swap 32m --cpus 0.5 --pids-limit 20 busybox sh -c \
  'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max' | sed 's/^/V2RUN limit /'
r -m 16m --memory-swap 16m busybox sh -c "x=\$(head -c 100000000 /dev/zero | tr '\\0' a)"
echo "V2RUN oom_exit $?"
r --pids-limit 10 busybox sh -c 'for i in $(seq 30); do sleep 5 & done; echo forked-all' 2>/dev/null
echo "V2RUN pids_exit $?"
id=$("$L" run -d --network none --name v2 -m 64m busybox top)
echo "V2RUN exec $("$L" exec v2 sh -c 'cat /proc/self/cgroup; ps -e | wc -l' | tr '\n' ' ')"
echo "V2RUN procs $(wc -l < /sys/fs/cgroup/luac-ctr/$id/cgroup.procs)"
"$L" exec v2 sh -c 'exit 5'; echo "V2RUN exec_exit $?"
echo "V2RUN dev_exec $("$L" exec v2 sh -c 'mknod /tmp/k c 7 0; (exec 3</tmp/k) 2>&1' | grep -c 'not permitted')"
echo "V2RUN dev_forbidden $(r busybox sh -c 'mknod /tmp/k c 7 128; mknod /tmp/z b 7 0; mknod /tmp/v c 7 0
  for n in k z v; do (exec 3</tmp/$n) 2>&1; done' | grep -c 'Operation not permitted')"
echo "V2RUN dev_default $(r busybox sh -c 'echo x >/dev/null && head -c 3 /dev/zero | wc -c && (exec 3<>/dev/ptmx) && echo ok' | tr '\n' ' ')"
echo "V2RUN dev_added $(r --device /dev/vcs:/dev/k2:r busybox sh -c '(exec 3</dev/k2) && echo r-ok
  (exec 3>/dev/k2) 2>&1 | grep -c "not permitted"' | tr '\n' ' ')"
echo "V2RUN dev_privileged $(r --privileged busybox sh -c 'mknod /tmp/k c 7 128 && mknod /tmp/v c 7 0 &&
  (exec 3</tmp/k) && (exec 3</tmp/v) && echo ok')"
"$L" rm -f v2 >/dev/null 2>&1 || "$L" -e 'local c=require"ctr.container".get("v2"); c:remove{force=true}'
echo "V2RUN left $(find /sys/fs/cgroup/luac-ctr -mindepth 1 -type d | wc -l)"
echo "V2RUN seccomp $(r busybox sh -c 'grep ^Seccomp: /proc/self/status; unshare -U true' 2>&1 | tr -d '\t' | tr '\n' ' ')"
# rootless with a delegated subtree (as systemd's user@.service gives): a user-owned cgroup, its shell
# in a leaf below it; -m and --pids-limit are enforced (README "Running without root")
useradd -u 4242 lctrv2 && echo lctrv2:300000:65536 >> /etc/subuid && echo lctrv2:300000:65536 >> /etc/subgid
D=/sys/fs/cgroup/lctrv2.slice
mkdir -p $D/shell /tmp/lctrv2-run /tmp/lctrv2-data && chown 4242 $D $D/cgroup.procs $D/cgroup.subtree_control \
  $D/cgroup.threads $D/shell $D/shell/cgroup.procs $D/shell/cgroup.threads /tmp/lctrv2-run /tmp/lctrv2-data
asu() { sh -c 'echo $$ > '$D'/shell/cgroup.procs && exec setpriv --reuid 4242 --regid 4242 --clear-groups env -i \
  PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp XDG_RUNTIME_DIR=/tmp/lctrv2-run XDG_DATA_HOME=/tmp/lctrv2-data "$@"' \
  sh "$L" "$@"; }
rid=$(asu run -d --network none -m 32m --pids-limit 20 busybox sleep 60)
echo "V2RUN rl_limits $(cd $D/luac-ctr/$rid && cat memory.max pids.max && stat -c %%u . && wc -l < cgroup.procs)" | tr '\n' ' '
echo; asu rm -f "$rid" >/dev/null
asu run --rm --network none -m 16m --memory-swap 16m busybox sh -c "x=\$(head -c 100000000 /dev/zero | tr '\\0' a)"
echo "V2RUN rl_oom_exit $?"
asu run --rm --network none --pids-limit 10 busybox sh -c 'for i in $(seq 30); do sleep 5 & done; echo forked-all' 2>/dev/null
echo "V2RUN rl_pids_exit $?"
echo "V2RUN rl_left $(find $D/luac-ctr -mindepth 1 -type d | wc -l)"
echo "V2RUN done 1"
]=]

describe("run on a cgroup v2 kernel (qemu VM) #root", function()
  it("runs, limits, OOM-reports and execs with cgroup v2", function()
    local out, _, report = U.v2vm(function(_, build) return GUEST:format(build) end, "--mem 1024")
    local function v(name) return out:match("V2RUN " .. name .. " ([^\n]*)") end
    assert.truthy(v("done"), "the guest script did not finish:\n" .. report)
    assert.are.equal("1", v("layout"), report)
    assert.are.equal("0::/ ", v("cgroup"), report)
    local limits = {}
    for l in out:gmatch("V2RUN limit ([^\n]*)") do limits[#limits + 1] = l end
    assert.same({ tostring(32 * 1024 * 1024), "20", "50000 100000" }, limits, report)
    assert.are.equal("137", v("oom_exit"), report)
    assert.are_not.equal("0", v("pids_exit"), report)
    assert.are.equal("0::/ 5 ", v("exec"), report) -- ps -e: header, top, sh, ps, wc
    assert.are.equal("1", v("procs"), report)
    assert.are.equal("5", v("exec_exit"), report)
    -- the device policy as a BPF program on the container's cgroup
    assert.are.equal("1", v("dev_exec"), report)       -- exec'ed processes are held to it
    assert.are.equal("3", v("dev_forbidden"), report)  -- mknod'ed vcsa, loop, vcs: EPERM
    assert.are.equal("3 ok ", v("dev_default"), report) -- null, zero, ptmx work
    assert.are.equal("r-ok 1 ", v("dev_added"), report) -- --device ...:r: read, not write
    assert.are.equal("ok", v("dev_privileged"), report) -- vcs and vcsa do open without the policy
    assert.are.equal("0", v("left"), report)
    -- the default seccomp profile (issue 10): filter loaded, unshare of a user namespace EPERM
    assert.matches("^Seccomp:2 .*unshare.*Operation not permitted", v("seccomp"), report)
    -- rootless in a delegated cgroup v2 subtree: the limits set and enforced, nothing left
    assert.are.equal(tostring(32 * 1024 * 1024) .. " 20 4242 1 ", v("rl_limits"), report)
    assert.are.equal("137", v("rl_oom_exit"), report)
    assert.are_not.equal("0", v("rl_pids_exit"), report)
    assert.are.equal("0", v("rl_left"), report)
  end)
end)
