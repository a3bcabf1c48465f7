-- runc_util: the harness the luac-runc specs share: run luac-runc with the
-- spec's state root, make a busybox rootfs, make a bundle from `luac-runc
-- spec` plus an edit, read a container's state. harness(get) takes a function
-- returning the spec's current tmp, root and rootfs (they change per file and
-- per test) and returns the functions.
local U = require "spec_util"
local core = require "ctr.core"
local json = require "ctr.json"
local assert = require "luassert" -- busted's assert (a module does not see the spec's globals)

local q = U.q
local M = { RUNC = U.srcdir .. "/" .. U.build .. "/luac-runc" }

function M.harness(get)
  local H = {}

  -- (a created container keeps the stdout it was given: never U.sh's pipe,
  -- whose reader would wait for it)
  function H.runc(args, opts)
    local _, root = get()
    local parts = { q(M.RUNC), "--root", q(root) }
    for _, a in ipairs(args) do parts[#parts + 1] = q(a) end
    local redirect = opts and opts.redirect or (args[1] == "create" and " >/dev/null" or "")
    return U.sh(table.concat(parts, " ") .. redirect, opts)
  end

  function H.make_rootfs(dir)
    assert(os.execute("mkdir -p " .. q(dir) .. "/bin " .. q(dir) .. "/proc " .. q(dir) .. "/sys " ..
      q(dir) .. "/dev " .. q(dir) .. "/tmp " .. q(dir) .. "/etc && cp /bin/busybox " .. q(dir) .. "/bin/ && " ..
      "for a in $(/bin/busybox --list); do [ \"$a\" = busybox ] || ln -s busybox " .. q(dir) .. "/bin/$a; done"))
  end

  -- A bundle: `luac-runc spec`, then edit(cfg) on the decoded config.json.
  function H.bundle(name, edit)
    local tmp, _, rootfs = get()
    local b = tmp .. "/" .. name
    assert(os.execute("mkdir -p " .. q(b) .. " && ln -s " .. q(rootfs) .. " " .. q(b) .. "/rootfs"))
    local _, err, code = H.runc({ "spec", "--bundle", b })
    assert.are.equal(0, code, err)
    local cfg = assert(json.decode(assert(core.read_file(b .. "/config.json"))))
    cfg.process.terminal = false
    if edit then edit(cfg) end
    assert(core.write_file_atomic(b .. "/config.json", json.encode(cfg)))
    return b
  end

  function H.state(id)
    local out, err, code = H.runc({ "state", id })
    assert.are.equal(0, code, err)
    return assert(json.decode(out))
  end

  function H.read(path)
    return core.read_file(path) or ""
  end

  return H
end

--- The busted hooks of a spec file whose tests each take a fresh state
-- root: before all, a fresh tmp with a busybox rootfs in it (set(tmp,
-- rootfs)); before each test, a new state root under tmp (set(tmp, rootfs,
-- root)); after all, what is left in the last root deleted by force (H: the
-- file's harness) and tmp removed.
function M.file_hooks(H, set)
  local busted = require "busted"
  local tmp, rootfs, root
  busted.setup(function()
    tmp = U.tmproot()
    rootfs = tmp .. "/rootfs"
    set(tmp, rootfs)
    H.make_rootfs(rootfs)
  end)
  busted.teardown(function()
    for _, id in ipairs(core.readdir(root or "/nonexistent") or {}) do H.runc({ "delete", "--force", id }) end
    U.cleanup(tmp)
  end)
  busted.before_each(function()
    root = tmp .. "/state-" .. tostring(math.random(1e9))
    set(tmp, rootfs, root)
  end)
end

return M
