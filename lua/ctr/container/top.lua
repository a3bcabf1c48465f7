--- ctr.container.top: docker top: Container:top, the processes of the
-- container's cgroup as the host's ps shows them (read from the host's
-- /proc by ps; docker runs ps too). For a container with a user namespace
-- a column CUID, the container's uid of each process, follows UID/USER
-- (the host's). Or, given podman's format descriptors (user, huser, pid,
-- hpid, args, ...), read from /proc here, the container's and the host's
-- view side by side (podman top).
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
  local c = require("ctr.userns").container_id(map, h)
  return c and tostring(c) or "?"
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

-- podman's format descriptors (psgo's names, headers and AIX codes) that
-- top reads from /proc itself; "h" ones are the host's view, the others
-- the container's (its user namespace's ids, named in its /etc/passwd and
-- /etc/group; its pid namespace's pids).
local DESCRIPTORS = {
  user = "USER", ruser = "RUSER", huser = "HUSER", group = "GROUP", rgroup = "RGROUP", hgroup = "HGROUP",
  pid = "PID", hpid = "HPID", ppid = "PPID", args = "COMMAND", comm = "COMMAND", state = "STATE",
}
local AIX = { ["%U"] = "user", ["%u"] = "ruser", ["%G"] = "group", ["%g"] = "rgroup", ["%p"] = "pid",
  ["%P"] = "ppid", ["%a"] = "args", ["%c"] = "comm" }

--- The descriptors top's arguments ask for (each argument a name, an AIX
-- code or a comma-separated list of them), or nil when any is not one (the
-- arguments are then ps's options, as docker's).
function M.descriptors(args)
  local t = {}
  for _, a in ipairs(args or {}) do
    for d in (a .. ","):gmatch("([^,]*),") do
      d = AIX[d] or d
      if not DESCRIPTORS[d] then return nil end
      t[#t + 1] = d
    end
  end
  return #t > 0 and t or nil
end

-- name of id in an /etc/passwd or /etc/group text (field 3), else the number
local function name_of(text, id)
  for line in (text or ""):gmatch("[^\n]+") do
    local name, n = line:match("^([^:]*):[^:]*:(%d+):")
    if n and math.tointeger(tonumber(n)) == id and name ~= "" then return name end
  end
  return tostring(id)
end

-- One process of /proc/<hpid> as descriptors' values (nil when it is gone).
local function proc_row(hpid, descs, ctx)
  local status = core.read_file("/proc/" .. hpid .. "/status")
  if not status then return nil end
  local uid = { status:match("\nUid:%s*(%d+)%s+(%d+)") }
  local gid = { status:match("\nGid:%s*(%d+)%s+(%d+)") }
  local nspid = (status:match("\nNSpid:([^\n]*)") or ""):match("(%d+)%s*$") or hpid
  local ppid = status:match("\nPPid:%s*(%d+)") or "0"
  local comm = status:match("^Name:%s*([^\n]*)") or "?"
  local function cid(map, h, what) -- the container's id of host id h, named in its file what
    h = math.tointeger(tonumber(h))
    if not h then return "?" end
    local c = h
    if map then c = require("ctr.userns").container_id(map, h) or 65534 end -- unmapped: the overflow id
    return name_of(ctx[what], c)
  end
  local v = {
    user = cid(ctx.uidmap, uid[2], "passwd"), ruser = cid(ctx.uidmap, uid[1], "passwd"),
    group = cid(ctx.gidmap, gid[2], "group"), rgroup = cid(ctx.gidmap, gid[1], "group"),
    huser = name_of(ctx.host_passwd, math.tointeger(tonumber(uid[2] or "")) or -1),
    hgroup = name_of(ctx.host_group, math.tointeger(tonumber(gid[2] or "")) or -1),
    pid = nspid, hpid = hpid, ppid = ctx.nspid[ppid] or "0", comm = comm, state = status:match("\nState:%s*(%S)") or "?",
  }
  if ctx.want_args then
    local cmd = (core.read_file("/proc/" .. hpid .. "/cmdline") or ""):gsub("%z$", ""):gsub("%z", " ")
    v.args = cmd ~= "" and cmd or ("[" .. comm .. "]")
  end
  local row = {}
  for i, d in ipairs(descs) do row[i] = (v[d] or "?"):gsub("%c", "?") end -- the container's bytes: no control characters (ps's ?)
  return row
end

-- The container's file rel (etc/passwd) read inside its root as its init sees it.
local function in_root(pid, rel)
  return core.read_in_root("/proc/" .. pid .. "/root", rel, 4 * 1024 * 1024)
end

-- podman top with descriptors: the processes of pids (the cgroup's) read from /proc.
local function by_descriptors(self, pids, descs)
  local uns = self.state.userns or {}
  local ctx = {
    uidmap = uns.uid, gidmap = uns.gid, nspid = {}, host_passwd = core.read_file("/etc/passwd"),
    host_group = core.read_file("/etc/group"), passwd = in_root(self.state.pid, "etc/passwd"),
    group = in_root(self.state.pid, "etc/group"),
  }
  for _, d in ipairs(descs) do if d == "args" then ctx.want_args = true end end
  table.sort(pids)
  for _, p in ipairs(pids) do -- the container's pid of each of its processes, for ppid
    local st = core.read_file("/proc/" .. p .. "/status") or ""
    ctx.nspid[tostring(p)] = (st:match("\nNSpid:([^\n]*)") or ""):match("(%d+)%s*$")
  end
  local titles, procs = {}, {}
  for i, d in ipairs(descs) do titles[i] = DESCRIPTORS[d] end
  for _, p in ipairs(pids) do procs[#procs + 1] = proc_row(tostring(p), descs, ctx) end
  return { titles = titles, processes = procs }
end

--- The container's processes as ps (with ps_args, default {"-ef"}) shows
-- them: { titles = {"UID", "PID", ...}, processes = { {"root", "123",
-- ...}, ... } } (docker's top). When ps_args are podman's descriptors
-- (M.descriptors: user, ruser, huser, group, rgroup, hgroup, pid, hpid,
-- ppid, args, comm, state, as names, AIX codes or comma lists) the columns
-- are those, read from /proc (podman top: USER is the container's user,
-- named in its /etc/passwd, HUSER the host's). Raises (exit 1) when the
-- container is not running or ps's output has no PID column.
function Container:top(ps_args)
  if self:status() ~= "running" then errors.raise(1, "container %s is not running", self.state.name) end
  local g, err = require("ctr.cgroup").open(self.state.cgroup or ("luac-ctr/" .. self.id))
  if not g then errors.raise(1, "top: %s", err) end
  local descs = M.descriptors(ps_args)
  if descs then return by_descriptors(self, g:pids(), descs) end
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
