-- pause/unpause, update and cp on a real pure cgroup v2 kernel (#root):
-- cgroup.freeze and cgroup.events, memory.max / pids.max / cpu.max /
-- cpu.weight written by update, cp's freeze of a running container. Boots
-- Debian's kernel under qemu with tools/v2vm.sh as spec/run_v2_spec.lua
-- does; if the VM cannot start, this spec fails.
local U = require "spec_util"

-- The guest script prints one "V2C <name> <value>" line per check.
local GUEST = [=[
set -u
L=%s/luac-ctr
export LUAC_CTR_ROOT=/tmp/lcv2
id=$("$L" run -d --network none --name web -m 64m busybox sh -c 'echo hi > /f; exec sleep 300')
cg=/sys/fs/cgroup/luac-ctr/$id
"$L" pause web >/dev/null
echo "V2C paused $(cat $cg/cgroup.freeze) $(grep frozen $cg/cgroup.events) $("$L" inspect -f '{{.State.Status}}' web)"
echo "V2C ps $("$L" ps --format '{{.Status}}' | sed 's/^Up .* (/(/')"
"$L" exec web true 2>/dev/null; echo "V2C exec_paused $?"
"$L" cp web:/f /tmp/f-out && echo "V2C cp_paused $(cat /tmp/f-out) $(cat $cg/cgroup.freeze)"
"$L" unpause web >/dev/null
echo "V2C thawed $(cat $cg/cgroup.freeze) $(grep frozen $cg/cgroup.events)"
echo in > /tmp/f-in; "$L" cp /tmp/f-in web:/g
echo "V2C cp_in $("$L" exec web cat /g) $(cat $cg/cgroup.freeze)"
"$L" update --memory 48m --pids-limit 33 --cpus 0.25 --cpu-shares 1024 web >/dev/null
echo "V2C update $(cat $cg/memory.max) $(cat $cg/pids.max) $(cat $cg/cpu.max | tr ' ' _) $(cat $cg/cpu.weight)"
"$L" update --memory 1k web 2>/dev/null; echo "V2C bad $? $(cat $cg/memory.max)"
echo "V2C top $("$L" top web | tail -n +2 | wc -l)"
"$L" pause web >/dev/null; "$L" stop -t 1 web >/dev/null
echo "V2C stopped $("$L" inspect -f '{{.State.Status}}' web)"
"$L" rm -f web >/dev/null
echo "V2C left $(find /sys/fs/cgroup/luac-ctr -mindepth 1 -type d | wc -l)"
echo "V2C done 1"
]=]

describe("pause, update and cp on a cgroup v2 kernel (qemu VM) #root", function()
  it("freezes through cgroup.freeze and writes v2 limits", function()
    local out, _, report = U.v2vm(function(_, build) return GUEST:format(build) end, "--mem 1024")
    local function v(name) return out:match("V2C " .. name .. " ([^\n]*)") end
    assert.truthy(v("done"), "the guest script did not finish:\n" .. report)
    assert.are.equal("1 frozen 1 paused", v("paused"), report)
    assert.are.equal("(Paused)", v("ps"), report)
    assert.are.equal("1", v("exec_paused"), report)
    assert.are.equal("hi 1", v("cp_paused"), report) -- read while paused: it stays frozen
    assert.are.equal("0 frozen 0", v("thawed"), report)
    assert.are.equal("in 0", v("cp_in"), report) -- frozen during the copy, thawed after
    assert.are.equal(tostring(48 * 1024 * 1024) .. " 33 25000_100000 39", v("update"), report)
    assert.are.equal("1 " .. tostring(48 * 1024 * 1024), v("bad"), report)
    assert.are.equal("1", v("top"), report)
    assert.are.equal("exited", v("stopped"), report)
    assert.are.equal("0", v("left"), report)
  end)
end)
