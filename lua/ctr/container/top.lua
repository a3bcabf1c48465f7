--- ctr.container.top: docker top: Container:top, the processes of the
-- container's cgroup as the host's ps shows them (read from the host's
-- /proc by ps; docker runs ps too). For a container with a user namespace
-- a column CUID, the container's uid of each process, follows UID/USER
-- (the host's).
local core = require "ctr.core"
local errors = require "ctr.errors"
local object = require "ctr.container.object"

local M = {}
local Container = object.Container

-- ps's output (argv: ps's arguments); raises (exit 1) when it fails.
local function run_ps(argv)
  local r, w = core.pipe()
  io.stdout:flush()
  local pid, err = core.fork()
  if not pid then r:close(); w:close(); errors.raise(1, "top: fork: %s", err) end
  if pid == 0 then
    r:close()
    core.dup2(w, 1)
    local full = { "ps" }
    for _, a in ipairs(argv) do full[#full + 1] = a end
    core.execve("ps", full, { "PATH=/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL=C", "COLUMNS=4096" })
    core._exit(127)
  end
  w:close()
  local chunks = {}
  while true do
    local s = core.read(r, 65536)
    if not s or s == "" then break end
    chunks[#chunks + 1] = s
  end
  r:close()
  local _, how, code = core.waitpid(pid)
  if how ~= "exited" or code ~= 0 then
    errors.raise(1, "ps: exit status %s", tostring(code))
  end
  return table.concat(chunks)
end

-- A line of ps output split into n fields (the last takes the rest).
local function fields(line, n)
  local t, pos = {}, 1
  for i = 1, n - 1 do
    local s, e = line:find("%S+", pos)
    if not s then return t end
    t[i] = line:sub(s, e)
    pos = e + 1
  end
  local rest = line:sub(pos):match("^%s*(.-)%s*$")
  if rest ~= "" then t[n] = rest end
  return t
end

-- The container's uid of host uid h (state.userns.uid map), or "?".
local function container_uid(map, h)
  for _, e in ipairs(map or {}) do
    if h >= e.hostID and h < e.hostID + e.size then return tostring(e.containerID + h - e.hostID) end
  end
  return "?"
end

-- Insert the CUID column after UID/USER.
local function add_cuid(titles, procs, pidcol, map)
  local at
  for i, t in ipairs(titles) do if t == "UID" or t == "USER" then at = i; break end end
  if not at then return end
  table.insert(titles, at + 1, "CUID")
  for _, p in ipairs(procs) do
    local status = core.read_file("/proc/" .. p[pidcol] .. "/status") or ""
    local h = math.tointeger(tonumber(status:match("\nUid:%s*(%d+)") or ""))
    table.insert(p, at + 1, h and container_uid(map, h) or "?")
  end
end

--- The container's processes as ps (with ps_args, default {"-ef"}) shows
-- them: { titles = {"UID", "PID", ...}, processes = { {"root", "123",
-- ...}, ... } } (docker's top). Raises (exit 1) when the container is not
-- running or ps's output has no PID column.
function Container:top(ps_args)
  if self:status() ~= "running" then errors.raise(1, "container %s is not running", self.state.name) end
  local g, err = require("ctr.cgroup").open(self.state.cgroup or ("luac-ctr/" .. self.id))
  if not g then errors.raise(1, "top: %s", err) end
  local mine = {}
  for _, p in ipairs(g:pids()) do mine[tostring(p)] = true end
  local args = ps_args and #ps_args > 0 and ps_args or { "-ef" }
  local lines = {}
  for l in run_ps(args):gmatch("[^\n]+") do lines[#lines + 1] = l end
  local titles = fields(lines[1] or "", 4096)
  local pidcol
  for i, t in ipairs(titles) do if t == "PID" then pidcol = i end end
  if not pidcol then errors.raise(1, "Couldn't find PID field in ps output") end
  local procs = {}
  for i = 2, #lines do
    local f = fields(lines[i], #titles)
    if f[pidcol] and mine[f[pidcol]] then procs[#procs + 1] = f end
  end
  if self.state.userns then add_cuid(titles, procs, pidcol, self.state.userns.uid) end
  return { titles = titles, processes = procs }
end

return M
