--- ctr.container: containers, their state and their lifecycle.
--
--   local container = require "ctr.container"
--   local c = container.create{ image = "busybox", cmd = {"top"}, name = "web", memory = "64m" }
--   c:start{ detach = true }
--   print(c:exec{ argv = {"ps"}, capture = true }.stdout)
--   c:stop{ timeout = 5 }
--   c:remove()
--
-- Errors are raised (ctr.errors values carrying docker's exit codes: 125
-- for bad input or a container in the wrong state, 126/127 when a command
-- cannot be run or is not found). Lookups that callers branch on
-- (container.get) return nil, err instead.
--
-- A container lives in <root>/containers/<id>/: config.json (the OCI config),
-- state.json, container.log (docker json-file lines), upper/ and work/ (its
-- overlayfs layer), rootfs/ (the mount point, used only inside its own mount
-- namespace), and its hostname, hosts and resolv.conf files.
local core = require "ctr.core"
local state = require "ctr.state"
local json = require "ctr.json"
local util = require "ctr.util"
local errors = require "ctr.errors"
local hooks = require "ctr.hooks"

local M = {}
local Container = {}
Container.__index = Container
M.Container = Container

M.LOG_MAX = 10 * 1024 * 1024 -- rotate the log at 10 MiB ...
M.LOG_FILES = 2              -- ... keeping one rotated file

local raise = errors.raise

-- ---------------------------------------------------------------------------
-- loading and looking up

local function cdir(id, ...) return state.dir("containers", id, ...) end

--- Load a container by its full id; nil, err when it has no readable state.
function M.load(id)
  local st, err = state.read_json(cdir(id, "state.json"))
  if not st then return nil, err end
  return setmetatable({ id = id, dir = cdir(id), state = st }, Container)
end

--- Every container (in no particular order); one whose state is missing
-- or unreadable is listed as dead (ctr.dead), once no creation can be in progress.
function M.list()
  local names = core.readdir(state.dir("containers")) or {}
  local out = {}
  for _, id in ipairs(names) do
    local c, err = M.load(id)
    if not c then c = require("ctr.dead").load(id, err) end
    if c then out[#out + 1] = c end
  end
  return out
end

--- Find a container by full id, name or unique id prefix.
-- Returns the container, or nil and a message ("no such container: x",
-- "multiple containers match prefix x").
function M.get(ref)
  if type(ref) ~= "string" or ref == "" then return nil, "no container given" end
  if #ref == 64 and ref:match("^%x+$") then
    local c = M.load(ref)
    if c then return c end
  end
  local by_prefix = {}
  for _, c in ipairs(M.list()) do
    if c.state.name == ref then return c end
    if ref:match("^%x+$") and c.id:sub(1, #ref) == ref then by_prefix[#by_prefix + 1] = c end
  end
  if #by_prefix == 1 then return by_prefix[1] end
  if #by_prefix > 1 then return nil, ("multiple containers match prefix %s: give more characters"):format(ref) end
  return nil, ("no such container: %s"):format(ref)
end

--- Like get, but raises when there is no single match: exit code `code`
-- (default 125; the lifecycle workflows ps/stop/rm/... use 1, as docker).
function M.must_get(ref, code)
  local c, err = M.get(ref)
  if not c then raise(code or 125, err) end
  return c
end

-- ---------------------------------------------------------------------------
-- status: always checked against the kernel

local function alive(pid, starttime)
  if not pid then return false end
  local st = core.starttime(pid)
  if not st or st ~= starttime then return false end
  local s = core.proc_state(pid)
  return s ~= nil and s ~= "Z" and s ~= "X"
end

--- The current status: "created", "running" or "exited". A container whose
-- process is gone (or whose pid now belongs to another process: the start
-- time is checked) is never reported as running.
function Container:status()
  local st = self.state
  if st.status == "running" then
    if alive(st.pid, st.starttime) then return "running" end
    return "exited"
  end
  return st.status or "created"
end

--- True when the container's process is running.
function Container:running() return self:status() == "running" end

--- Re-read state.json (another process, e.g. the supervisor, may have changed it).
function Container:refresh()
  local st = state.read_json(cdir(self.id, "state.json"))
  if st then self.state = st end
  return self
end

--- The exit code recorded for an exited container (255 when the process
-- vanished without its supervisor recording one). A process that has just
-- exited, with a live supervisor about to record it, is waited for (up to
-- a second), so that the code is the real one.
function Container:exit_code()
  if self:status() ~= "exited" then return nil end
  local deadline = core.clock("monotonic") + 1
  while self.state.status == "running" and core.clock("monotonic") < deadline do
    local sup = self.state.supervisor
    if not (sup and alive(sup.pid, sup.starttime)) then break end
    core.sleep(0.01)
    self:refresh()
  end
  return self.state.exit_code or 255
end

--- The container's OCI config (config.json).
function Container:config()
  if not self._config then
    local cfg, err = state.read_json(cdir(self.id, "config.json"))
    if not cfg then raise(125, "container %s has no readable config: %s", self.id:sub(1, 12), err) end
    self._config = cfg
  end
  return self._config
end

--- The container's name.
function Container:name() return self.state.name end

function Container:__tostring()
  return ("container %s (%s, %s)"):format(self.id:sub(1, 12), self.state.name or "?", self:status())
end

-- Replace a file atomically. Durable (fsync'd, via state) unless the
-- container is ephemeral (--rm): its files are deleted when it exits, so
-- they only need rename's atomicity, not a trip to the disk.
local function put(path, text, ephemeral)
  if not ephemeral then
    local ok, err = core.write_file_atomic(path, text, 384)
    if not ok then raise(125, "cannot write %s: %s", path, err) end
    return
  end
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "w")
  if not f then raise(125, "cannot write %s: %s", path, err) end
  local ok, werr = f:write(text)
  f:close()
  if ok then ok, werr = os.rename(tmp, path) end
  if not ok then os.remove(tmp); raise(125, "cannot write %s: %s", path, werr) end
end

local function put_json(path, t, ephemeral)
  put(path, json.encode(t, { indent = true }) .. "\n", ephemeral)
end

function Container:_save()
  put_json(cdir(self.id, "state.json"), self.state, self.state.auto_remove)
end

-- container locks held by this process: id -> { fd =, count = }
local held_locks = {}

--- Run fn(...) holding the container's own lock (<dir>/lock, re-entrant in
-- a process), with self:refresh()ed state. Starting, recording an exit and
-- removing take it, so they never interleave. Raises "no such container"
-- (exit 1) when the container was removed meanwhile. Returns fn's results.
function Container:_locked(fn, ...)
  local h = held_locks[self.id]
  if not h then
    local fd = core.lock_file(cdir(self.id, "lock"), "ex")
    if not fd or not core.exists(self.dead and self.dir or cdir(self.id, "state.json")) then
      if fd then fd:close() end
      raise(1, "no such container: %s", self.state.name or self.id)
    end
    h = { fd = fd, count = 0 }
    held_locks[self.id] = h
  end
  h.count = h.count + 1
  self:refresh()
  local res = table.pack(pcall(fn, ...))
  h.count = h.count - 1
  if h.count == 0 then
    held_locks[self.id] = nil
    h.fd:close()
  end
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

-- ---------------------------------------------------------------------------
-- creating

--- The largest /etc/passwd or /etc/group read from an image.
M.ETC_FILE_MAX = 4 * 1024 * 1024

-- The image's /etc/<rel> as the container will see it, read inside the
-- layer stack (core.read_in_layers: symlinks resolve in the image, never on
-- the host): nil when missing; not a regular file, or larger than
-- ETC_FILE_MAX: an error.
local function read_layer_file(lowers, rel)
  if #lowers == 0 then return nil end
  local s, err, errno = core.read_in_layers(lowers, rel, M.ETC_FILE_MAX)
  if s then return s end
  if errno ~= core.errno.ENOENT and errno ~= core.errno.ENOTDIR then
    raise(125, "cannot read the image's /%s: %s", rel, err)
  end
end

-- A uid or gid from the command line or the image: decimal, 0..2147483647.
local function check_id(s, what)
  local n = type(s) == "string" and s:match("^%d+$") and #s <= 10 and math.tointeger(tonumber(s))
  if not n or n > 2147483647 then
    raise(125, "invalid %s %q: must be an integer within 0..2147483647", what, tostring(s))
  end
  return n
end

local function passwd_lookup(text, field, value)
  for line in (text or ""):gmatch("[^\n]+") do
    local parts = {}
    for p in (line .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = p end
    if parts[field] == value then return parts end
  end
end

--- Resolve a docker -u value ("uid", "uid:gid", "name", "name:group") against
-- the image's /etc/passwd and /etc/group. Returns uid, gid, home.
function M.resolve_user(user, lowers)
  if user == nil or user == "" then return 0, 0, "/root" end
  local u, g = user:match("^([^:]+):(.+)$")
  u = u or user
  if u:match("^%-%d+$") then check_id(u, "uid") end
  if g and g:match("^%-%d+$") then check_id(g, "gid") end
  local passwd = read_layer_file(lowers, "etc/passwd")
  local uid, gid, home
  if u:match("^%d+$") then
    uid = check_id(u, "uid")
    local e = passwd_lookup(passwd, 3, u)
    gid = e and check_id(e[4], "gid of uid " .. u .. " in the image's /etc/passwd") or 0
    home = e and e[6] or "/"
  else
    local e = passwd_lookup(passwd, 1, u)
    if not e then raise(125, "unable to find user %s: no matching entries in passwd file", u) end
    local where = " of user " .. u .. " in the image's /etc/passwd"
    uid, gid, home = check_id(e[3], "uid" .. where), check_id(e[4], "gid" .. where), e[6]
  end
  if g then
    if g:match("^%d+$") then gid = check_id(g, "gid")
    else
      local e = passwd_lookup(read_layer_file(lowers, "etc/group"), 1, g)
      if not e then raise(125, "unable to find group %s: no matching entries in group file", g) end
      gid = check_id(e[3], "gid of group " .. g .. " in the image's /etc/group")
    end
  end
  return uid, gid, home
end

--- Resolve docker --group-add values (gids, or group names looked up in the
-- image's /etc/group) to a list of gids. Raises on unknown or invalid ones.
function M.resolve_groups(list, lowers)
  local gids, group = {}, nil
  for _, g in ipairs(list or {}) do
    if g:match("^%-?%d+$") then gids[#gids + 1] = check_id(g, "gid")
    else
      group = group or read_layer_file(lowers, "etc/group") or ""
      local e = passwd_lookup(group, 1, g)
      if not e then raise(125, "unable to find group %s: no matching entries in group file", g) end
      gids[#gids + 1] = check_id(e[3], "gid of group " .. g .. " in the image's /etc/group")
    end
  end
  return gids
end

--- Normalise a container path: absolute, no "..", no "." or empty parts.
-- Raises when it is relative or climbs out with "..".
function M.clean_path(p, what)
  if type(p) ~= "string" or p:sub(1, 1) ~= "/" then
    raise(125, "invalid %s %q: must be an absolute path", what, tostring(p))
  end
  local parts = {}
  for part in p:gmatch("[^/]+") do
    if part == ".." then raise(125, "invalid %s %q: it escapes the root filesystem with ..", what, p) end
    if part ~= "." then parts[#parts + 1] = part end
  end
  return "/" .. table.concat(parts, "/")
end

-- Walk path through the image layers: a symlink whose relative target would
-- climb above / makes the path escape the root filesystem: refuse it.
local function check_symlinks(path, lowers, what)
  local depth = {}
  for part in path:gmatch("[^/]+") do
    local prefix = "/" .. table.concat(depth, "/") .. (#depth > 0 and "/" or "") .. part
    for _, d in ipairs(lowers) do
      local st = core.lstat(d .. prefix)
      if st then
        if st.type == "link" then
          local target = core.readlink(d .. prefix) or ""
          local level = target:sub(1, 1) == "/" and 0 or #depth
          for t in target:gmatch("[^/]+") do
            if t == ".." then level = level - 1 elseif t ~= "." then level = level + 1 end
            if level < 0 then
              raise(125, "invalid %s %q: %s is a symlink that escapes the root filesystem", what, path, prefix)
            end
          end
        end
        break
      end
    end
    depth[#depth + 1] = part
  end
end

--- Parse a -v value "HOST:CTR[:ro|rw]" into {source, destination, ro}.
-- The host directory is created when missing (as docker does).
function M.parse_volume(spec, lowers)
  local parts = {}
  for p in (spec .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = p end
  if #parts < 2 or #parts > 3 or parts[1] == "" or parts[2] == "" then
    raise(125, "invalid volume specification %q: use HOST:CONTAINER[:ro]", spec)
  end
  local mode = parts[3]
  if mode and mode ~= "ro" and mode ~= "rw" then
    raise(125, "invalid volume specification %q: unknown mode %q (ro or rw)", spec, mode)
  end
  if parts[1]:sub(1, 1) ~= "/" then
    raise(125, "invalid volume specification %q: the host path must be absolute (named volumes are not supported)", spec)
  end
  local dest = M.clean_path(parts[2], "volume destination")
  if dest == "/" then raise(125, "invalid volume specification %q: cannot mount over /", spec) end
  check_symlinks(dest, lowers or {}, "volume destination")
  return { source = parts[1], destination = dest, ro = mode == "ro" }
end

local function parse_env_file(path)
  local f, err = io.open(path, "r")
  if not f then raise(125, "cannot read env file: %s", err) end
  local out = {}
  for line in f:lines() do
    line = line:gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then out[#out + 1] = line end
  end
  f:close()
  return out
end

-- docker's env rules: "K=V" sets, "K" takes the host's value (or is dropped).
local function env_merge(base, extra)
  local order, vals = {}, {}
  local function set(k, v)
    if vals[k] == nil then order[#order + 1] = k end
    vals[k] = v
  end
  for _, e in ipairs(base or {}) do
    local k, v = e:match("^([^=]+)=(.*)$")
    if k then set(k, v) end
  end
  if type(extra) == "table" and #extra == 0 and next(extra) then
    local keys = {}
    for k in pairs(extra) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do set(k, tostring(extra[k])) end
  else
    for _, e in ipairs(extra or {}) do
      local k, v = e:match("^([^=]+)=(.*)$")
      if k then
        if k:match("%s") then raise(125, "invalid environment variable: %s", e) end
        set(k, v)
      elseif e ~= "" then
        local hv = os.getenv(e)
        if hv then set(e, hv) end
      end
    end
  end
  local out = {}
  for _, k in ipairs(order) do out[#out + 1] = k .. "=" .. vals[k] end
  return out
end
--- Merge environment lists the way docker does: base is a list of
-- "K=V"; extra is a list ("K=V" sets, a bare "K" copies our value of K or
-- is dropped) or a map {K = "V"}. Later values win, the first position of
-- a name is kept. Returns a new list.
function M.env_merge(base, extra) return env_merge(base, extra) end

local function resources(o)
  local cgroup = require "ctr.cgroup"
  local r = {}
  if o.memory then r.memory = cgroup.parse_memory(o.memory) end
  if o.memory_swap then
    r.memory_swap = (o.memory_swap == "-1" or o.memory_swap == -1) and -1 or cgroup.parse_memory(o.memory_swap)
    if not r.memory then raise(125, "you must set --memory to use --memory-swap") end
    if r.memory_swap ~= -1 and r.memory_swap < r.memory then
      raise(125, "minimum memoryswap limit should be larger than memory limit, see usage")
    end
  end
  if o.cpus then r.cpus = cgroup.parse_cpus(o.cpus) end
  if o.cpuset_cpus then r.cpuset_cpus = o.cpuset_cpus end
  if o.pids_limit then
    local n = math.tointeger(tonumber(o.pids_limit))
    if not n or (n <= 0 and n ~= -1) then raise(125, "invalid --pids-limit %q: a positive integer or -1", tostring(o.pids_limit)) end
    if n > 0 then r.pids = n end
  end
  return r
end

local function validate(o)
  if type(o) ~= "table" then raise(125, "container.create: options table expected") end
  if not o.image then raise(125, "no image given") end
  if o.name ~= nil and not state.valid_name(o.name) then
    raise(125, "invalid container name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", tostring(o.name))
  end
  local ok, r = pcall(resources, o)
  if not ok then raise(errors.code(r), errors.message(r)) end
  return r
end

-- --security-opt values (docker's): seccomp=unconfined|PROFILE.json,
-- no-new-privileges[=true|false]; apparmor=unconfined and label=disable
-- are accepted (there is nothing of the kind to lift). Raises 125.
local function security_opts(list)
  local s = {}
  for _, opt in ipairs(list or {}) do
    local k, v = opt:match("^([%a-]+)[=:](.*)$")
    k = k or opt
    if k == "seccomp" and v and v ~= "" then
      s.seccomp = v
    elseif k == "no-new-privileges" and (v == nil or v == "true" or v == "false") then
      s.no_new_privileges = v ~= "false"
    elseif not ((k == "apparmor" and v == "unconfined") or (k == "label" and v == "disable")) then
      raise(125, "invalid --security-opt %q: expected seccomp=unconfined|PROFILE.json or no-new-privileges[=true|false]", opt)
    end
  end
  return s
end

local function command_of(o, icfg)
  local ep = icfg.Entrypoint
  local cmd = icfg.Cmd
  if o.entrypoint then
    ep = o.entrypoint ~= "" and { o.entrypoint } or nil
    cmd = nil
  end
  if o.cmd and #o.cmd > 0 then cmd = o.cmd end
  local args = {}
  for _, a in ipairs(ep or {}) do args[#args + 1] = a end
  for _, a in ipairs(cmd or {}) do args[#args + 1] = a end
  if #args == 0 then raise(125, "no command specified") end
  return args, ep, cmd
end

-- The container's own config in docker's terms (its Config), which commit
-- carries into the new image: the command as Entrypoint and Cmd, the
-- environment, working directory, user and exposed ports (the image's and
-- the published ones).
local function docker_config(o, icfg, ep, cmd, env, cwd, ports)
  local exposed = {}
  for k in pairs(icfg.ExposedPorts or {}) do exposed[k] = json.object({}) end
  for _, p in ipairs(ports) do exposed[("%d/%s"):format(p.container_port, p.proto)] = json.object({}) end
  return {
    Cmd = cmd and json.array(cmd) or nil, Entrypoint = ep and json.array(ep) or nil, Env = json.array(env),
    WorkingDir = cwd, User = o.user or icfg.User or "", ExposedPorts = next(exposed) and json.object(exposed) or nil,
  }
end

local function host_resolv()
  local f = io.open("/etc/resolv.conf", "r")
  local s = f and f:read("a") or ""
  if f then f:close() end
  -- nameservers on the host's loopback are unreachable from a network namespace
  s = s:gsub("[^\n]*nameserver%s+127%.[^\n]*\n?", ""):gsub("[^\n]*nameserver%s+::1[^\n]*\n?", "")
  return s
end

local function etc_files(dir, hostname, o)
  local function write_file(path, text)
    put(path, text, o.rm)
    core.chmod(path, 420)
  end
  local hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
  for _, h in ipairs(o.add_host or {}) do
    local name, ip = h:match("^([^:]+):(.+)$")
    if not name then raise(125, "invalid --add-host %q: use HOST:IP", h) end
    hosts = hosts .. ip .. "\t" .. name .. "\n"
  end
  local resolv
  if o.dns and #o.dns > 0 then
    resolv = {}
    for _, d in ipairs(o.dns) do resolv[#resolv + 1] = "nameserver " .. d end
    resolv = table.concat(resolv, "\n") .. "\n"
  else
    resolv = host_resolv()
  end
  local files = { hostname = dir .. "/hostname", hosts = dir .. "/hosts", ["resolv.conf"] = dir .. "/resolv.conf" }
  write_file(files.hostname, hostname .. "\n")
  write_file(files.hosts, hosts)
  write_file(files["resolv.conf"], resolv)
  return files
end

-- The container's directory is private (0700); its upper dir becomes the
-- attributes of the container's "/", so it is 0755 like any root.
local function mkdirs(dir)
  for _, d in ipairs({ { dir, 448 }, { dir .. "/upper", 493 }, { dir .. "/work", 448 }, { dir .. "/rootfs", 493 } }) do
    local ok, err = core.mkdir(d[1], d[2])
    if not ok then raise(125, "cannot create %s: %s", d[1], err) end
    core.chmod(d[1], d[2]) -- not subject to the umask
  end
end

local function name_in_use(name)
  for _, c in ipairs(M.list()) do
    if c.state.name == name then return c end
  end
end

local function random_name()
  local adj = { "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen",
                "lucid", "merry", "nimble", "proud", "quiet", "swift", "witty", "zen" }
  local noun = { "turing", "hopper", "lovelace", "ritchie", "thompson", "knuth", "torvalds", "dijkstra",
                 "liskov", "wirth", "lamport", "hamming", "kernighan", "pike", "cerf", "allen" }
  local b = core.getrandom(3)
  return adj[b:byte(1) % #adj + 1] .. "_" .. noun[b:byte(2) % #noun + 1] .. "_" .. (b:byte(3) % 100)
end

local function network_mode(o)
  local n = o.network or M.default_network()
  if n ~= "none" and n ~= "host" and not (o.network_available or M.network_available()) then
    raise(125, "network %q is not available: bridge networking is not installed", n)
  end
  return n
end

--- The network a container joins when none is given: "bridge" when
-- bridge networking is available, else "none".
function M.default_network()
  return M.network_available() and "bridge" or "none"
end

--- True when bridge networking (the ctr.network module and its ctr.net C
-- module) is installed. Checked without loading them.
function M.network_available()
  return package.searchpath("ctr.network", package.path) ~= nil
    and package.searchpath("ctr.net", package.cpath) ~= nil
end

-- v1/hybrid: the container's cgroup directory on each v1 hierarchy, for
-- its /sys/fs/cgroup (nil on v2, where its cgroup namespace root is mounted).
local function cgroup_v1_dirs(path)
  local cgroup = require "ctr.cgroup"
  if cgroup.layout() == "v2" then return nil end
  local t = {}
  for _, h in ipairs(cgroup.info().hierarchies) do
    if h.version == 1 then t[#t + 1] = { mount = h.mount, dir = h.mount .. "/" .. path } end
  end
  return t
end

--- Create a container (state "created"); nothing runs yet. Options (docker
-- run's): image, cmd (list), entrypoint, name, env (list "K=V" or map),
-- env_file (list of paths), workdir, user, group_add, hostname, tty, interactive,
-- volumes (list of "HOST:CTR[:ro]"), read_only, memory, memory_swap, cpus,
-- cpuset_cpus, pids_limit, cap_add, cap_drop, privileged, devices (list of
-- "HOST[:CONTAINER[:PERMS]]"), network, ip,
-- publish (list), add_host, dns, rm (remove when it exits), log_max, log_files,
-- security_opt (list: seccomp=unconfined|PROFILE.json, no-new-privileges;
-- without it the default seccomp profile applies, --privileged is unconfined).
-- Returns the container; raises on bad input, leaving nothing behind.
function M.create(o)
  local image = require "ctr.image"
  local res = validate(o)
  state.ensure()
  local img, ierr = image.resolve(o.image)
  if not img then raise(125, "Unable to find image '%s' locally: %s", o.image, ierr or "no such image") end
  local lowers = image.lower_dirs(img)
  local icfg = img.config or {}
  local volumes = {}
  for _, v in ipairs(o.volumes or {}) do volumes[#volumes + 1] = M.parse_volume(v, lowers) end
  local uid, gid, home = M.resolve_user(o.user or icfg.User, lowers)
  local groups = M.resolve_groups(o.group_add, lowers)
  local cwd = o.workdir and M.clean_path(o.workdir, "working directory") or (icfg.WorkingDir ~= "" and icfg.WorkingDir) or "/"
  local args, ep, cmd = command_of(o, icfg)
  local net = network_mode(o)
  local env = {}
  for _, f in ipairs(o.env_file or {}) do
    for _, e in ipairs(parse_env_file(f)) do env[#env + 1] = e end
  end
  local extra = o.env or {}
  if #extra == 0 and next(extra) then extra = env_merge({}, extra) end
  for _, e in ipairs(extra) do env[#env + 1] = e end
  local ports = {}
  if o.publish and #o.publish > 0 then
    if net == "none" or net == "host" then raise(125, "cannot publish ports with --network %s", net) end
    local network = require "ctr.network"
    for _, p in ipairs(o.publish) do ports[#ports + 1] = network.parse_publish(p) end
  end
  local caps_ok, caps_err = pcall(require("ctr.oci").capabilities, o.cap_add, o.cap_drop, o.privileged)
  if not caps_ok then raise(125, errors.message(caps_err)) end
  local dev_ok, devices = pcall(require("ctr.oci").parse_devices, o.devices)
  if not dev_ok then raise(125, errors.message(devices)) end
  local sec = security_opts(o.security_opt)
  local seccomp = not o.privileged and require("ctr.seccomp").profile_for(sec.seccomp) -- --privileged: unconfined

  return state.with_lock(function()
    if o.name then
      local other = name_in_use(o.name)
      if other then
        raise(125, "the container name %q is already in use by container %s: remove it or choose another name", o.name, other.id)
      end
    end
    local id = state.new_id()
    local name = o.name or random_name()
    local cfg_made, dcfg
    local dir = cdir(id)
    local ok, err = pcall(function()
      mkdirs(dir)
      put(dir .. "/name", name, o.rm) -- for ctr.dead, should state.json be lost
      local hostname = o.hostname or id:sub(1, 12)
      local files = etc_files(dir, hostname, o)
      local base_env = env_merge({ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, icfg.Env or {})
      base_env = env_merge(base_env, { "HOSTNAME=" .. hostname })
      local has_home = false
      for _, e in ipairs(env) do if e:match("^HOME=") then has_home = true end end
      for _, e in ipairs(base_env) do if e:match("^HOME=") then has_home = true end end
      if not has_home then base_env = env_merge(base_env, { "HOME=" .. (home ~= "" and home or "/") }) end
      if o.tty then base_env = env_merge(base_env, { "TERM=xterm" }) end
      local dcfg_env = env_merge({ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, icfg.Env or {})
      if o.tty then dcfg_env = env_merge(dcfg_env, { "TERM=xterm" }) end
      dcfg = docker_config(o, icfg, ep, cmd, env_merge(dcfg_env, env), cwd, ports)
      cfg_made = require("ctr.oci").build {
        args = args, env = env_merge(base_env, env), cwd = cwd, uid = uid, gid = gid, groups = groups,
        terminal = o.tty or false, hostname = hostname, read_only = o.read_only,
        privileged = o.privileged, cap_add = o.cap_add, cap_drop = o.cap_drop,
        network = net, volumes = volumes, files = files, resources = res, devices = devices,
        cgroup_v2 = require("ctr.cgroup").layout() == "v2", cgroup_v1 = cgroup_v1_dirs("luac-ctr/" .. id),
        rootfs = dir .. "/rootfs", lowerdir = table.concat(lowers, ":"),
        upperdir = dir .. "/upper", workdir = dir .. "/work",
        seccomp = seccomp, no_new_privileges = sec.no_new_privileges,
      }
      for _, v in ipairs(volumes) do
        if not core.exists(v.source) then
          local mok, merr = util.mkdir_p(v.source, 493)
          if not mok then raise(125, "cannot create the volume directory %s: %s", v.source, merr) end
        end
      end
      put_json(dir .. "/config.json", cfg_made, o.rm)
      put_json(dir .. "/state.json", {
        id = id, name = name, image = o.image, image_id = img.id,
        command = args, created = util.now(), status = "created",
        cgroup = "luac-ctr/" .. id, resources = res, tty = o.tty or false,
        interactive = o.interactive or false, auto_remove = o.rm or false,
        network = { mode = net, ip = o.ip, ports = ports, hostname = hostname, add_hosts = o.add_host },
        log = { path = dir .. "/container.log", max_size = o.log_max or M.LOG_MAX, max_files = o.log_files or M.LOG_FILES },
        stop_signal = icfg.StopSignal or "SIGTERM", config = dcfg,
      }, o.rm)
    end)
    if not ok then
      core.remove_all(dir)
      error(err, 0)
    end
    local c, lerr = M.load(id)
    if not c then core.remove_all(dir); raise(125, "cannot read back the new container's state: %s", lerr) end
    c._config = cfg_made -- just written: no need to read it back
    return c
  end)
end

-- ---------------------------------------------------------------------------
-- starting

local function open_devnull()
  local fd, err = core.open("/dev/null", "rdwr,cloexec")
  if not fd then raise(125, "open /dev/null: %s", err) end
  return fd
end

function Container:_attach_network(pid)
  local mode = self.state.network and self.state.network.mode or "none"
  if mode == "none" or mode == "host" then return end
  local network = require "ctr.network"
  local att = network.attach {
    network = mode, container_id = self.id, name = self.state.name, pid = pid,
    ip = self.state.network.ip, hostname = self.state.network.hostname,
    hosts_file = self.dir .. "/hosts", ports = self.state.network.ports,
    add_hosts = self.state.network.add_hosts,
  }
  self.state.network.attachment = att
end

-- Leave every network (the --network one and any `network connect`ed),
-- dropping whatever rule is still tagged for us.
function Container:_detach_network()
  local n = self.state.network
  if not n or not M.network_available() then return end
  -- the store alone (cheap: no JSON parsed unless a file names us) says whether to load the rest
  if #require("ctr.network.store").memberships(self.id) > 0 then
    pcall(require("ctr.network").detach_all, self.id)
  end
  n.attachment = nil
end

-- How a new process joins cgroup g: it writes "0" to the v1 "tasks" files
-- itself (moving a thread that way skips the kernel's global threadgroup
-- lock and its RCU grace period, ~10 ms here), and is cloned straight into
-- the v2 cgroup with CLONE_INTO_CGROUP.
local function cgroup_entry(g)
  local join, into = {}, nil
  for _, d in ipairs(g:dirs()) do
    if core.exists(d .. "/cgroup.controllers") then into = d
    else join[#join + 1] = d .. "/tasks" end
  end
  return join, into
end

-- Phase 1 of a start: cgroup, process, network, exec. Returns the process
-- and the fds the supervisor relays. Raises, having undone everything.
-- The published host ports are held by the supervisor for the container's
-- life (a bound socket each, closed with the relayed fds): a port a host
-- program holds is refused as docker does, and ours look busy to others.
local function hold_ports(self, fds)
  local n = self.state.network
  for i, pt in ipairs(n and n.ports or {}) do
    local sock, err = core.port_hold(pt.host_ip or "0.0.0.0", pt.host_port, pt.proto or "tcp")
    if not sock then raise(125, "cannot publish port %d/%s: %s", pt.host_port, pt.proto or "tcp", err) end
    fds["port_hold" .. i] = sock
  end
end

function Container:_launch(o)
  local cgroup = require "ctr.cgroup"
  local cfg = self:config()
  local tty = cfg.process.terminal
  local g = cgroup.create(self.state.cgroup, self.state.resources or {})
  local p, fds = nil, {}
  local ok, err = xpcall(function()
    hold_ports(self, fds)
    g:set_devices(require("ctr.oci").device_rules_of(cfg)) -- before any process is in it
    local stdio = {}
    stdio.cgroup_join, stdio.cgroup_into = cgroup_entry(g)
    self.state.cgroup_entry = { join = stdio.cgroup_join, into = stdio.cgroup_into } -- for exec
    local sc = cfg.linux and cfg.linux.seccomp
    if sc then stdio.seccomp_bpf = require("ctr.seccomp").program(sc) end -- compiled once, cached
    local devnull = open_devnull()
    -- the caller's fds never enter the container: pipes, relayed by the supervisor
    stdio.stdin = devnull
    if o.interactive and not tty then
      local in_r, in_w = core.pipe()
      stdio.stdin, fds.stdin_pipe = in_r, in_w
    end
    if tty then
      stdio.stdout, stdio.stderr = devnull, devnull
    else
      local out_r, out_w = core.pipe()
      local err_r, err_w = core.pipe()
      fds.stdout, fds.stderr = out_r, err_r
      stdio.stdout, stdio.stderr = out_w, err_w
    end
    local perr
    p, perr = core.spawn(cfg, stdio)
    if stdio.stdout ~= devnull then stdio.stdout:close(); stdio.stderr:close() end
    if stdio.stdin ~= devnull then stdio.stdin:close() end
    devnull:close()
    if not p then raise(125, "cannot create the container process: %s", perr) end
    self:_attach_network(p.pid)
    hooks.run("prestart", self)
    local started, serr, errno, exec_failed = p:start()
    if not started then
      local code = 125
      if exec_failed then code = errno == core.errno.ENOENT and 127 or 126 end
      raise(code, serr)
    end
    fds.pty = p:pty()
  end, function(e)
    if os.getenv("LUAC_CTR_DEBUG") == "1" and type(e) == "string" then return debug.traceback(e, 2) end
    return e
  end)
  if not ok then
    if p then p:abort() end
    for _, fd in pairs(fds) do fd:close() end
    self:_detach_network()
    pcall(g.remove, g, { force = true })
    error(err, 0)
  end
  self.state.status = "running"
  self.state.pid = p.pid
  self.state.starttime = core.starttime(p.pid)
  self.state.started_at = util.now()
  self.state.finished_at = nil
  self.state.exit_code = nil
  self.state.oom_killed = nil
  self.state.supervisor = { pid = core.getpid(), starttime = core.starttime(core.getpid()) }
  self:_save()
  return p, fds, g
end

-- After the process exited: record how, release the cgroup and network,
-- run poststop hooks, honour --rm.
-- Without a result (recorded by another process for a dead supervisor),
-- an exit already recorded is kept. A removed container records nothing.
-- All under the container's lock, the cgroup removal included: a start
-- right after (restart) makes a new cgroup of the same name, which must
-- not be removed by the late end of the previous run; and a container
-- started again meanwhile (another pid) is not ours to record.
function Container:_finish(g, result)
  local pid = self.state.pid
  local ok_rec, recorded = pcall(self._locked, self, function()
    if self.state.status == "running" and self.state.pid ~= pid then return false end
    if not result and self.state.status ~= "running" then return false end
    self.state.oom_killed = g and g:oom_killed() or false
    if g then pcall(g.remove, g, { force = true }) end
    self.state.status = "exited"
    self.state.exit_code = result and result.exit_code or 255
    self.state.finished_at = util.now()
    self.state.pid, self.state.starttime, self.state.supervisor = nil, nil, nil
    self.state.cgroup_entry = nil
    self:_detach_network()
    self:_save()
    return true
  end)
  if not ok_rec or not recorded then return end
  local ok, herr = pcall(hooks.run, "poststop", self)
  if self.state.auto_remove then self:remove { force = true } end
  if not ok then error(herr, 0) end
end

local function supervise(c, p, fds, g, o)
  local st = c.state
  local tty = c:config().process.terminal
  local in_pipe = fds.stdin_pipe
  fds.stdin_pipe = nil
  local res, err = p:supervise {
    stdout = fds.stdout, stderr = fds.stderr, pty = fds.pty,
    stdin = (o.interactive and o.stdin) or nil, stdin_pipe = in_pipe and in_pipe:release(),
    echo = o.echo, log = st.log.path, log_max = st.log.max_size, log_files = st.log.max_files,
    forward_signals = o.echo, raw = o.echo and tty and o.stdin ~= nil and core.isatty(o.stdin),
  }
  for _, fd in pairs(fds) do fd:close() end
  c:_finish(g, res)
  if not res then raise(125, "supervising the container: %s", err) end
  return res
end

local function check_startable(self)
  local s = self:status()
  if s == "running" then raise(125, "container %s is already running", self.state.name) end
end

--- Start the container. opts: detach (return at once; a supervisor process
-- keeps relaying its output to the log and records its exit), interactive
-- (forward our stdin), stdin (fd, default 0). In the foreground the output
-- is copied to ours, signals are forwarded, and the exit {exit_code=,
-- signaled=, signal=} is returned (exit_code 128+n when killed by signal n).
-- Detached, returns the container.
function Container:start(opts)
  local o = opts or {}
  check_startable(self)
  if o.detach then return self:_start_detached() end
  local p, fds, g = self:_locked(function()
    check_startable(self)
    return self:_launch { interactive = o.interactive, stdin = o.stdin or 0 }
  end)
  hooks.run("poststart", self)
  return supervise(self, p, fds, g, { echo = true, interactive = o.interactive, stdin = o.stdin or 0 })
end

-- A detached supervisor's stdin is /dev/null; until it reported the start,
-- its stdout and stderr are the caller's (prestart's output is seen there),
-- then they go to the container's hooks.log (poststop's output).
local function redirect_stdio_to_null(log)
  local null = core.open("/dev/null", "rdwr")
  if not log then core.dup2(null, 0) end
  local out = log and core.open(log, "wronly,creat,append,nofollow,noctty", 384)
  if log then core.dup2(out or null, 1); core.dup2(out or null, 2) end
  null:close()
  if out then out:close() end
end

-- Detached: fork twice so that the supervisor is nobody's zombie; it reports
-- "ok" or the error over a pipe, then supervises until the container exits.
function Container:_start_detached()
  local r, w = core.pipe()
  local pid = core.fork()
  if pid == 0 then
    r:close()
    state.after_fork() -- our copies of the parent's lock fds must not keep its locks
    local ok = pcall(function()
      core.setsid()
      if core.fork() ~= 0 then core._exit(0) end
      redirect_stdio_to_null()
      local reported = false
      local sok, serr = pcall(function()
        local p, fds, g = self:_locked(function()
          check_startable(self)
          return self:_launch { interactive = false }
        end)
        core.write(w, "ok\n") -- poststart runs in the caller, where its output is seen
        reported = true
        w:close()
        redirect_stdio_to_null(self.dir .. "/hooks.log")
        supervise(self, p, fds, g, { echo = false })
      end)
      if not sok and not reported then
        core.write(w, ("err %d %s\n"):format(errors.code(serr), errors.message(serr)))
      end
    end)
    core._exit(ok and 0 or 1)
  end
  w:close()
  core.waitpid(pid)
  local chunks = {}
  while true do
    local s = core.read(r, 4096)
    if not s or s == "" then break end
    chunks[#chunks + 1] = s
  end
  r:close()
  local msg = table.concat(chunks)
  if msg:sub(1, 3) == "ok\n" then
    self:refresh()
    local hok, herr = pcall(hooks.run, "poststart", self)
    if not hok then raise(125, errors.message(herr)) end
    return self
  end
  local code, text = msg:match("^err (%d+) (.-)\n?$")
  if code then raise(math.tointeger(tonumber(code)), text) end
  raise(125, "the container's supervisor died before reporting (%s)", msg)
end

--- create + start: the `docker run` of the API. Options as create, plus
-- detach, interactive. Returns start's result (the exit table, or the
-- container when detached) and the container.
function M.run(o)
  local c = M.create(o)
  local ok, res = pcall(c.start, c, { detach = o.detach, interactive = o.interactive, stdin = o.stdin })
  if not ok then
    pcall(c.remove, c, { force = true })
    error(res, 0)
  end
  return res, c
end

-- ---------------------------------------------------------------------------
-- signals, stop, wait

local function signum(sig)
  if sig == nil then return 15 end
  if math.type(sig) == "integer" then return sig end
  local s = tostring(sig)
  if s:match("^%d+$") then return math.tointeger(tonumber(s)) end
  s = s:upper():gsub("^SIG", "")
  local n = core.signum(s)
  if not n then raise(125, "invalid signal: %s", tostring(sig)) end
  return n
end
--- A signal number from a name ("TERM", "SIGTERM"), a numeric string or a
-- number (nil: SIGTERM). Raises (exit code 125) for an unknown signal.
function M.signum(sig) return signum(sig) end

-- A pidfd for the container's init, checked against its start time so a
-- reused pid is never signalled.
function Container:_pidfd()
  local st = self.state
  if not alive(st.pid, st.starttime) then return nil end
  local fd = core.pidfd_open(st.pid)
  if not fd then return nil end
  if core.starttime(st.pid) ~= st.starttime then fd:close(); return nil end
  return fd
end

--- Send a signal (name like "TERM"/"SIGTERM" or number; default SIGKILL).
-- Raises if the container is not running.
function Container:kill(sig)
  local n = signum(sig or "KILL")
  local fd = self:_pidfd()
  if not fd then raise(125, "container %s is not running", self.state.name) end
  local ok, err = core.kill(fd, n)
  fd:close()
  if not ok then raise(125, "cannot signal container %s: %s", self.state.name, err) end
  return true
end

local function wait_gone(fd, timeout_s)
  local ready = core.poll({ { fd, "in" } }, math.floor(timeout_s * 1000))
  return ready and #ready > 0
end

-- The supervisor (when alive) records the exit itself; give it a moment.
function Container:_await_record(timeout_s)
  local deadline = core.clock("monotonic") + timeout_s
  while core.clock("monotonic") < deadline do
    self:refresh()
    if self.state.status ~= "running" then return true end
    local sup = self.state.supervisor
    if not (sup and alive(sup.pid, sup.starttime)) then break end
    core.sleep(0.02)
  end
  self:refresh()
  if self.state.status == "running" then
    -- nobody will record it: do it ourselves
    local cgroup = require "ctr.cgroup"
    self:_finish(cgroup.open(self.state.cgroup), nil)
  end
  return true
end

--- Stop: the stop signal (SIGTERM or the image's), then SIGKILL after
-- timeout seconds (default 10). Returns once the process is gone and its
-- exit is recorded. Stopping a stopped container is not an error.
function Container:stop(opts)
  local timeout = opts and opts.timeout or 10
  local fd = self:_pidfd()
  if not fd then
    if self.state.status == "running" then self:_await_record(2) end
    return self
  end
  hooks.run("prestop", self)
  core.kill(fd, signum(opts and opts.signal or self.state.stop_signal))
  if not wait_gone(fd, timeout) then
    core.kill(fd, 9)
    wait_gone(fd, 30)
  end
  fd:close()
  self:_await_record(5)
  return self
end

--- Block until the container exits (a created one: until it has been
-- started and has exited); returns its exit code.
function Container:wait()
  while self:status() == "created" and core.exists(cdir(self.id, "state.json")) do
    core.sleep(0.05)
    self:refresh()
  end
  local fd = self:_pidfd()
  if fd then
    while not wait_gone(fd, 3600) do end
    fd:close()
  end
  -- gone: let the supervisor record the exit code (or record it ourselves)
  if self.state.status == "running" then self:_await_record(5) end
  self:refresh()
  return self:exit_code() or 0
end

-- ---------------------------------------------------------------------------
-- exec

local ALL_NS = { "mnt", "pid", "net", "ipc", "uts", "cgroup" }

-- Join only the namespaces the container does not share with us (a
-- --network host container shares the host's net namespace).
local function namespaces_to_join(pid)
  local me = core.getpid()
  local out = {}
  for _, n in ipairs(ALL_NS) do
    if core.ns_id(pid, n) ~= core.ns_id(me, n) then out[#out + 1] = n end
  end
  return out
end

-- Feed what src has into the command's stdin pipe w (non-blocking), keeping
-- what does not fit in feed.pending. Returns false once the input is over.
local function feed_step(feed, readable)
  if feed.pending == "" and readable then
    local s = core.read(feed.src, 65536)
    if not s or s == "" then return false end
    feed.pending = s
  end
  local n, _, errno = core.write(feed.w, feed.pending)
  if not n and errno ~= core.errno.EAGAIN then return false end -- the command closed its stdin
  feed.pending = feed.pending:sub((n or 0) + 1)
  return true
end

-- Read two pipes to their ends at once (neither may fill up and block the
-- command), feeding feed.src to feed.w meanwhile when given. Returns both contents.
local function collect(a, b, feed)
  local bufs = { [a] = {}, [b] = {} }
  local open = { a, b }
  while #open > 0 do
    local list = {}
    for i, fd in ipairs(open) do list[i] = { fd, "in" } end
    if feed then list[#list + 1] = feed.pending == "" and { feed.src, "in" } or { feed.w, "out" } end
    local ready, err = core.poll(list, -1)
    if not ready then raise(125, "exec: poll: %s", err) end
    for _, r in ipairs(ready) do
      if feed and (r.fd == feed.src or r.fd == feed.w) then
        if not feed_step(feed, r.fd == feed.src) then feed.w:close(); feed = nil end
      else
        local s = core.read(r.fd, 65536)
        if s and s ~= "" then
          table.insert(bufs[r.fd], s)
        else
          for i, fd in ipairs(open) do if fd == r.fd then table.remove(open, i) break end end
        end
      end
    end
  end
  if feed then feed.w:close() end
  return table.concat(bufs[a]), table.concat(bufs[b])
end

local function exec_process(self, o)
  local cfg = self:config()
  local base = cfg.process
  if type(o.argv) ~= "table" or #o.argv == 0 then raise(125, "exec: no command given") end
  -- docker: exec -t sets TERM=xterm (as run -t does) unless -e TERM= is given
  local env = env_merge(base.env, o.tty and { "TERM=xterm" } or {})
  env = env_merge(env, o.env or {})
  local user = base.user
  if o.user then
    local image = require "ctr.image"
    local img = image.resolve(self.state.image_id)
    local uid, gid = M.resolve_user(o.user, img and image.lower_dirs(img) or {})
    user = { uid = uid, gid = gid, additionalGids = {} }
  end
  local caps = base.capabilities
  if user.uid ~= 0 and caps then
    caps = { bounding = caps.bounding, effective = {}, permitted = {}, inheritable = {}, ambient = {} }
  end
  return {
    args = o.argv, env = env, cwd = o.cwd or base.cwd, user = user,
    capabilities = caps, noNewPrivileges = base.noNewPrivileges, terminal = o.tty or false,
  }
end

--- Run a command inside the running container, as docker exec does: the
-- container's namespaces, cgroup, environment (plus o.env), working
-- directory (o.cwd), user (o.user), capabilities and no_new_privs.
-- o: argv (list, required), env, cwd, user, tty, interactive, stdin,
-- stdout, stderr (fds; default ours, stdin /dev/null unless interactive;
-- never given to the command: it gets pipes and we relay; not with detach),
-- capture (collect stdout and stderr as strings), detach (return a handle
-- {pid=, wait=function}). Returns {exit_code=, signaled=, signal=
-- [, stdout=, stderr=]}. Raises 125 when the container is not running,
-- 126/127 when the command cannot be executed or is not found.
function Container:exec(o)
  o = o or {}
  if self:status() ~= "running" then
    raise(125, "container %s is not running", self.state.name)
  end
  local process = exec_process(self, o)
  local target = { pid = self.state.pid, namespaces = namespaces_to_join(self.state.pid) }
  target.seccomp = self:config().linux and self:config().linux.seccomp -- the container's filter
  if target.seccomp then target.seccomp_bpf = require("ctr.seccomp").program(target.seccomp) end
  local entry = self.state.cgroup_entry -- recorded at start: no cgroup lookups on the hot path
  if entry then
    target.cgroup_procs, target.cgroup_into = entry.join, entry.into
  else
    local g = require("ctr.cgroup").open(self.state.cgroup)
    if g then target.cgroup_procs, target.cgroup_into = cgroup_entry(g) end
  end
  if o.detach and (o.stdin or o.stdout or o.stderr) then
    raise(125, "exec: a detached command gets no stdin, stdout or stderr (nothing would relay them)")
  end
  local keep = {}
  local devnull = open_devnull()
  keep[#keep + 1] = devnull
  if not o.tty then
    -- the caller's fds never enter the container: pipes, relayed by us
    target.stdin, target.stdout, target.stderr = devnull, devnull, devnull
    local src = o.stdin or (o.interactive and 0) or nil
    if src and not o.detach then
      local in_r, in_w = core.pipe()
      target.stdin, keep.in_r, keep.in_w, keep.in_src = in_r, in_r, in_w, src
    end
    if not o.detach then
      local out_r, out_w = core.pipe()
      local err_r, err_w = core.pipe()
      target.stdout, target.stderr = out_w, err_w
      keep.out_r, keep.err_r, keep.out_w, keep.err_w = out_r, err_r, out_w, err_w
    end
  end
  -- the pidfd is checked against the start time: a reused pid is never entered
  target.pidfd = self:_pidfd()
  if not target.pidfd then raise(125, "container %s is not running", self.state.name) end
  local p, err, errno, exec_failed = core.exec_in(process, target)
  target.pidfd:close()
  if keep.out_w then keep.out_w:close(); keep.err_w:close() end
  if keep.in_r then keep.in_r:close() end
  devnull:close()
  if not p then
    if keep.out_r then keep.out_r:close(); keep.err_r:close() end
    if keep.in_w then keep.in_w:close() end
    local code = 125
    if exec_failed then code = errno == core.errno.ENOENT and 127 or 126 end
    raise(code, err)
  end
  if o.detach then
    return { pid = p.pid, proc = p, wait = function() return p:wait() end }
  end
  if o.capture then
    local feed = nil
    if keep.in_w then
      assert(core.set_nonblock(keep.in_w))
      feed = { src = keep.in_src, w = keep.in_w, pending = "" }
    end
    local out, errout = collect(keep.out_r, keep.err_r, feed)
    keep.out_r:close(); keep.err_r:close()
    local res = p:wait()
    res.stdout, res.stderr = out, errout
    return res
  end
  local pty = p:pty()
  local stdin = o.stdin or 0
  local res, serr = p:supervise {
    pty = pty, stdin = (o.tty and (o.interactive ~= false) and stdin) or keep.in_src,
    stdin_pipe = keep.in_w and keep.in_w:release(),
    stdout = keep.out_r, stderr = keep.err_r,
    echo = true, echo_stdout = o.stdout, echo_stderr = o.stderr,
    forward_signals = true, raw = o.tty and core.isatty(stdin),
  }
  if pty then pty:close() end
  if keep.out_r then keep.out_r:close(); keep.err_r:close() end
  if not res then raise(125, "exec: %s", serr) end
  return res
end

-- ---------------------------------------------------------------------------
-- removing

--- Remove the container: its cgroup, network attachment and directory.
-- A running container is refused unless opts.force (then it is killed
-- first). Safe to call again after a failure part way.
function Container:remove(opts)
  local force = opts and opts.force
  local hok, herr = true, nil
  for _ = 1, 10 do
    if self:status() == "running" then
      if not force then
        raise(125, "cannot remove running container %s: stop the container before removing it or use -f", self.state.name)
      end
      if hok then hok, herr = pcall(hooks.run, "prestop", self) end -- as stop does; a failure is raised after the removal
      pcall(self.kill, self, "KILL") -- it may be exiting already
      self:_await_record(5)
    end
    -- under the container's lock: a concurrent start cannot slip in
    if self:_locked(self._remove_locked, self) then
      if not hok then error(herr, 0) end
      return true
    end
  end
  raise(125, "cannot remove container %s: it keeps being started again", self.state.name)
end

-- The removal proper (holding the container's lock): false when the
-- container is running (again). Each step can be repeated: a failure part
-- way leaves the container listed, and the next remove finishes the work.
function Container:_remove_locked()
  if self:status() == "running" then return false end
  local cgroup = require "ctr.cgroup"
  local g = cgroup.open(self.state.cgroup or ("luac-ctr/" .. self.id))
  if g then
    local ok, err = pcall(g.remove, g, { force = true })
    if not ok then raise(125, "removing the cgroup of %s: %s", self.state.name, errors.message(err)) end
  end
  self:_detach_network()
  -- anything still mounted below the directory (only after a crash) goes first
  local mounts = {}
  for line in io.lines("/proc/self/mountinfo") do
    local mp = line:match("^%S+ %S+ %S+ %S+ (%S+)")
    if mp and mp:sub(1, #self.dir + 1) == self.dir .. "/" then mounts[#mounts + 1] = mp end
  end
  table.sort(mounts, function(a, b) return #a > #b end)
  for _, mp in ipairs(mounts) do core.umount2(mp, "detach") end
  -- out of containers/ in one step (nobody can take its lock any more),
  -- then deleted
  state.ensure()
  local trash = state.dir("tmp", "removed-" .. self.id)
  local dir = self.dir
  if core.rename(self.dir, trash) then dir = trash end
  local ok, err = core.remove_all(dir)
  if not ok then
    -- back under containers/ (remove_all fails before deleting anything
    -- when a mount is below), so that the next rm can finish the work
    if dir == trash then core.rename(trash, self.dir) end
    raise(125, "removing %s: %s", dir, err)
  end
  return true
end

--- Remove the directory (and any cgroup) of a container whose creation
-- never finished: a crash between making its directory and writing its
-- state.json. ref: its full id or a unique id prefix. Returns true, or
-- nil, err when no such incomplete container exists.
function M.remove_incomplete(ref)
  if type(ref) ~= "string" or not ref:match("^%x+$") then return nil, ("no such container: %s"):format(tostring(ref)) end
  -- create holds the global lock from mkdir to state.json: never a creation in progress
  return state.with_lock(function()
    local found = {}
    for _, id in ipairs(core.readdir(state.dir("containers")) or {}) do
      if id:sub(1, #ref) == ref and not core.exists(cdir(id, "state.json")) then found[#found + 1] = id end
    end
    if #found ~= 1 then
      return nil, #found == 0 and ("no such container: %s"):format(ref)
        or ("multiple containers match prefix %s: give more characters"):format(ref)
    end
    local cgroup = require "ctr.cgroup"
    local g = cgroup.open("luac-ctr/" .. found[1])
    if g then pcall(g.remove, g, { force = true }) end
    local ok, err = core.remove_all(cdir(found[1]))
    if not ok then raise(125, "removing %s: %s", cdir(found[1]), err) end
    return true
  end)
end

--- A JSON-ready description (docker inspect's main fields): Id, Name,
-- Image, Created, Path/Args, State {Status, Running, Pid, ExitCode,
-- OOMKilled, StartedAt, FinishedAt}, Config (the OCI config), HostConfig
-- {Resources (limits), NetworkMode, AutoRemove, LogConfig}, Mounts (the
-- volumes), NetworkSettings, LogPath, Cgroup. Times are RFC 3339.
function Container:inspect()
  local st = self.state
  local function t(v) return v and util.rfc3339(v) or "0001-01-01T00:00:00Z" end
  local status = self:status()
  local cfg = self:config()
  local mounts = json.array({})
  local skip = { ["/sys"] = true, ["/etc/hostname"] = true, ["/etc/hosts"] = true, ["/etc/resolv.conf"] = true }
  for _, m in ipairs(cfg.mounts or {}) do
    if m.type == "bind" and not skip[m.destination] and not m.destination:find("^/sys/fs/cgroup/") then
      local ro = false
      for _, o in ipairs(m.options or {}) do if o == "ro" then ro = true end end
      mounts[#mounts + 1] = { Type = "bind", Source = m.source, Destination = m.destination, RW = not ro, Mode = ro and "ro" or "" }
    end
  end
  local args = json.array({})
  for i = 2, #(st.command or {}) do args[#args + 1] = st.command[i] end
  return {
    Id = self.id, Name = st.name, Image = st.image, ImageId = st.image_id,
    Created = t(st.created), Path = st.command and st.command[1], Args = args,
    State = {
      Status = status, Running = status == "running", Pid = status == "running" and st.pid or 0,
      ExitCode = self:exit_code() or 0, OOMKilled = st.oom_killed or false,
      StartedAt = t(st.started_at), FinishedAt = t(st.finished_at),
    },
    Config = cfg,
    HostConfig = {
      Resources = json.object(st.resources or {}), AutoRemove = st.auto_remove or false,
      NetworkMode = st.network and st.network.mode or "none",
      LogConfig = { Type = "json-file", MaxSize = st.log and st.log.max_size, MaxFiles = st.log and st.log.max_files },
    },
    Mounts = mounts, LogPath = st.log and st.log.path, NetworkSettings = st.network, Cgroup = st.cgroup,
  }
end

return M
