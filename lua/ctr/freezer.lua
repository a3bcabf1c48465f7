--- ctr.freezer: freezing a cgroup's processes, on cgroup v1 (the freezer
-- controller's freezer.state) or v2 (cgroup.freeze, cgroup.events). Used by
-- commit/export (a consistent read) and by luac-runc pause/resume/state.
local core = require "ctr.core"

local M = {}

--- The freezer of cgroup g (a ctr.cgroup object): v1 freezer.state where
-- the cgroup has one, else v2 cgroup.freeze. Returns { file, on, off, check,
-- ok, v1, g }, or nil, msg when its cgroup has no freezer.
function M.of(g)
  local v2
  for _, d in ipairs(g:dirs()) do
    if core.exists(d .. "/freezer.state") then
      return { file = d .. "/freezer.state", on = "FROZEN", off = "THAWED", check = d .. "/freezer.state",
               ok = "^FROZEN", v1 = true, g = g }
    elseif core.exists(d .. "/cgroup.freeze") then
      v2 = v2 or { file = d .. "/cgroup.freeze", on = "1", off = "0", check = d .. "/cgroup.events",
                   ok = "frozen 1", g = g }
    end
  end
  if not v2 then return nil, "its cgroup has no freezer" end
  return v2
end

--- Write text to an existing (cgroup) file. Returns true or nil, err.
function M.write_file(path, text)
  local fd, err = core.open(path, "wronly,cloexec")
  if not fd then return nil, err end
  local ok, werr = core.write(fd, text)
  fd:close()
  if not ok then return nil, werr end
  return true
end

--- Ask for frozen (true) or thawed (false). Returns true or nil, err.
function M.set(fz, frozen)
  return M.write_file(fz.file, frozen and fz.on or fz.off)
end

--- Whether the freezer reports the cgroup frozen (completely).
function M.frozen(fz)
  return (core.read_file(fz.check) or ""):match(fz.ok) ~= nil
end

--- Whether a freeze was asked for (v1: FREEZING or FROZEN; v2: cgroup.freeze is 1).
function M.asked(fz)
  local s = core.read_file(fz.file) or ""
  if fz.v1 then return s:match("^FR") ~= nil end
  return s:match("^1") ~= nil
end

return M
