-- ctr.cgroup on a real pure cgroup v2 kernel: boots Debian's kernel under qemu
-- with tools/v2vm.sh (only cgroup v2, every controller), runs
-- tools/cgroup-v2-check.lua there inside this machine's own files
-- (--hostroot, read-only + throw-away layer) with the repo shared read-write,
-- and asserts every check passed. The VM is thrown away afterwards, so it
-- leaves nothing behind here. If the VM cannot start, this spec fails.
local U = require "spec_util"

local CHECKS = { "layout", "limits", "swap_unlimited", "add", "oom", "pids_limit", "cpu_usage", "errors", "devices" }

-- tools/v2vm.sh needs qemu, cpio and busybox; install them (fetching the
-- package lists first) when they are missing.
local function ensure_vm_tools()
  local _, _, code = U.sh("command -v qemu-system-x86_64 && command -v cpio && test -x /bin/busybox")
  if code == 0 then return end
  local _, err, rc = U.sh("export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && " ..
    "apt-get install -y -qq --no-install-recommends qemu-system-x86 cpio busybox-static >/dev/null")
  assert.are.equal(0, rc, "cannot install qemu-system-x86 cpio busybox-static: " .. err)
end

describe("ctr.cgroup on a cgroup v2 kernel (qemu VM) #root", function()
  it("passes every check of tools/cgroup-v2-check.lua", function()
    ensure_vm_tools()
    local out, code, report = U.v2vm(function(repo, build)
      return "cd " .. U.q(repo) .. " && lua5.4 tools/cgroup-v2-check.lua " .. U.q(build)
    end)
    assert.truthy(out:find("V2CHECK DONE", 1, true), "the check script did not finish:\n" .. report)
    for _, name in ipairs(CHECKS) do
      assert.truthy(out:find("V2CHECK OK " .. name .. "\n", 1, true), "check " .. name .. " failed:\n" .. report)
    end
    assert.truthy(out:find("V2CHECK DONE passed=" .. #CHECKS .. " failed=0", 1, true), report)
    assert.are.equal(0, code, report)
  end)
end)
