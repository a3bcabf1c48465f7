-- ctr.cgroup on a real pure cgroup v2 kernel: boots Debian's kernel under qemu
-- with tools/v2vm.sh (only cgroup v2, every controller), runs
-- tools/cgroup-v2-check.lua there inside this machine's own files
-- (--hostroot, read-only + throw-away layer) with the repo shared read-write,
-- and asserts every check passed. The VM is thrown away afterwards, so it
-- leaves nothing behind here. If the VM cannot start, this spec fails.
local U = require "spec_util"

local CHECKS = { "layout", "limits", "swap_unlimited", "add", "oom", "pids_limit", "cpu_usage", "errors", "devices" }

local function realpath(p)
  local h = io.popen("realpath -e " .. U.q(p) .. " 2>/dev/null")
  local r = h:read("l"); h:close()
  return r
end

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
    local repo = assert(realpath(U.srcdir), "cannot resolve the source dir")
    local vm = repo .. "/tools/v2vm.sh"
    local build = assert(realpath(U.build:sub(1, 1) == "/" and U.build or repo .. "/" .. U.build),
      "no build dir " .. U.build)
    ensure_vm_tools()
    local shares = "--share " .. U.q(repo)
    if build:sub(1, #repo + 1) ~= repo .. "/" then shares = shares .. " --share " .. U.q(build) end
    local guest = "cd " .. U.q(repo) .. " && lua5.4 tools/cgroup-v2-check.lua " .. U.q(build)
    local out, err, code = U.sh("bash " .. U.q(vm) .. " --hostroot " .. shares ..
      " --timeout 300 -- " .. U.q(guest))
    local report = "v2vm.sh exit " .. tostring(code) .. "\n" .. out .. err
    assert.truthy(out:find("V2CHECK DONE", 1, true), "the check script did not finish:\n" .. report)
    for _, name in ipairs(CHECKS) do
      assert.truthy(out:find("V2CHECK OK " .. name .. "\n", 1, true), "check " .. name .. " failed:\n" .. report)
    end
    assert.truthy(out:find("V2CHECK DONE passed=" .. #CHECKS .. " failed=0", 1, true), report)
    assert.are.equal(0, code, report)
  end)
end)
