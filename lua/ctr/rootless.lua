--- ctr.rootless: containers run by an unprivileged user.
--
-- Every container of a rootless caller has a user namespace of its own: the
-- caller's uid is root inside, and uids 1..N are the caller's subordinate
-- ids of /etc/subuid and /etc/subgid, mapped by Debian's setuid helpers
-- newuidmap/newgidmap (package uidmap). The state lives under
-- $XDG_DATA_HOME/luac-ctr ($HOME/.local/share/luac-ctr). The overlay is
-- mounted inside the user namespace (userxattr). Cgroups only below a
-- delegated cgroup v2 subtree (M.cgroup_parent; none on a v1 host); the
-- network is pasta's (ctr.pasta) or none; pull and commit run in a user
-- namespace of the caller's ids (M.reexec).
local core = require "ctr.core"
local errors = require "ctr.errors"

local M = {}

--- The workflows a rootless caller may run.
M.COMMANDS = { run = true, exec = true, ps = true, logs = true, stop = true, rm = true, inspect = true,
  kill = true, wait = true, start = true, restart = true, images = true, pull = true, commit = true }

--- The workflows a rootless caller runs inside a user namespace of its
-- subordinate ids, as root there (util-linux `unshare --map-auto
-- --map-root-user`, the maps of its containers): they write files with
-- the owners of an image's layers.
M.USERNS_COMMANDS = { pull = true, commit = true }

-- Set (to "1") in the environment of a workflow re-run by M.reexec.
local USERNS_ENV = "LUAC_CTR_ROOTLESS_USERNS"

--- True in a workflow that M.reexec re-ran in the user's user namespace.
function M.in_userns() return os.getenv(USERNS_ENV) == "1" and core.geteuid() == 0 end

--- Re-run workflow command with its arguments argv inside a user namespace
-- of the caller's subordinate ids (see M.USERNS_COMMANDS), on the caller's
-- state root. Does not return; raises when it cannot exec.
function M.reexec(command, argv)
  local exe = core.readlink("/proc/self/exe")
  if not exe or exe:sub(1, 7) == "/memfd:" then exe = os.getenv("LUAC_CTR_EXE") end
  if not exe then errors.throw("system", "rootless %s: cannot find the luac-ctr binary to re-run", command) end
  local env = { USERNS_ENV .. "=1", "LUAC_CTR_ROOT=" .. require("ctr.state").root() }
  for _, k in ipairs({ "PATH", "HOME", "TERM", "LANG", "LC_ALL", "XDG_DATA_HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME",
    "LUAC_CTR_CONFIG", "LUAC_CTR_PATH", "LUAC_CTR_EXE", "LUAC_CTR_DEBUG", "DOCKER_CONFIG", "REGISTRY_AUTH_FILE",
    "SSL_CERT_FILE", "SSL_CERT_DIR" }) do
    local v = os.getenv(k)
    if v then env[#env + 1] = k .. "=" .. v end
  end
  local a = { "unshare", "--map-auto", "--map-root-user", "--", exe, command }
  for _, v in ipairs(argv) do a[#a + 1] = v end
  io.stdout:flush(); io.stderr:flush()
  local _, err = core.execve("unshare", a, env)
  errors.throw("system", "rootless %s: unshare (util-linux) in a user namespace: %s", command, tostring(err))
end

--- True when the caller is not root.
function M.active() return core.geteuid() ~= 0 end

--- The default state root of a rootless caller: $XDG_DATA_HOME/luac-ctr,
-- else $HOME/.local/share/luac-ctr; nil when neither is set.
function M.default_root()
  local xdg = os.getenv("XDG_DATA_HOME")
  if xdg and xdg:sub(1, 1) == "/" then return xdg .. "/luac-ctr" end
  local home = os.getenv("HOME")
  if home and home:sub(1, 1) == "/" then return home .. "/.local/share/luac-ctr" end
  return nil
end

--- True when the state root (ctr.state.root()) is the caller's, or does
-- not exist yet (it will be made as the caller's). A rootless caller never
-- works on root's state.
function M.own_state()
  local st = core.stat(require("ctr.state").root())
  return st == nil or st.uid == core.geteuid()
end

-- The caller's first subordinate range in path (/etc/subuid): start, count.
local function subid(path, name, id)
  local text = core.read_file(path) or ""
  for line in text:gmatch("[^\n]+") do
    local u, s, c = line:match("^([^:]+):(%d+):(%d+)%s*$")
    if u == name or u == tostring(id) then return math.tointeger(tonumber(s)), math.tointeger(tonumber(c)) end
  end
  return nil
end

-- The caller's user name (from /etc/passwd), or nil.
local function user_name(uid)
  for line in (core.read_file("/etc/passwd") or ""):gmatch("[^\n]+") do
    local name, u = line:match("^([^:]*):[^:]*:(%d+):")
    if tonumber(u) == uid then return name end
  end
  return nil
end

--- The id maps of a rootless container: {mode = "rootless", uid = map,
-- gid = map}, the caller's ids as 0 and its subordinate ids (at most
-- 65536) as 1... Raises "invalid" when /etc/subuid or /etc/subgid has none.
function M.maps()
  local uid, gid = core.geteuid(), core.getegid()
  local name = user_name(uid) or tostring(uid)
  local function map(id, path)
    local s, c = subid(path, name, uid)
    if not s or c < 1 then
      errors.throw("invalid", "rootless: no subordinate ids for %s in %s (usermod --add-subuids/--add-subgids)", name, path)
    end
    return { { containerID = 0, hostID = id, size = 1 }, { containerID = 1, hostID = s, size = math.min(c, 65535) } }
  end
  return { mode = "rootless", uid = map(uid, "/etc/subuid"), gid = map(gid, "/etc/subgid") }
end

--- Refuse, in one line (exit 125), what a rootless container cannot have:
-- o the create options, net its network mode.
function M.check(o, net)
  local function no(what, why) errors.throw("invalid", "rootless: %s is not supported (%s)", what, why) end
  if net ~= "none" and net ~= "pasta" then no("--network " .. net, "only pasta or none: no bridge without root") end
  if net == "pasta" then
    local why = require("ctr.pasta").unusable()
    if why then errors.throw("invalid", "rootless: --network pasta: %s; use --network none", why) end
  end
  if o.privileged then no("--privileged", "root's devices and capabilities") end
  if o.uidmap or o.gidmap or (o.userns and o.userns ~= "auto") then no("--userns/--uidmap", "the ids are the caller's") end
end

--- The cgroup v2 directory (relative to /sys/fs/cgroup) below which a
-- rootless caller's containers get their cgroups (<it>/luac-ctr/<id>): the
-- parent of the caller's own cgroup when the caller owns it and may move
-- processes in it (a delegated subtree, as systemd's user@.service gives:
-- user@1000.service/app.slice/<ours>), else nil (cgroup v1 or hybrid, or
-- nothing delegated).
function M.cgroup_parent()
  if require("ctr.cgroup").layout() ~= "v2" then return nil end
  local own = (core.read_file("/proc/self/cgroup") or ""):match("0::/([^\n]*)")
  local parent = own and own:match("^(.+)/[^/]+$")
  if not parent then return nil end
  local dir = "/sys/fs/cgroup/" .. parent
  local st = core.stat(dir)
  if not st or st.uid ~= core.geteuid() then return nil end
  for _, f in ipairs({ "cgroup.procs", "cgroup.subtree_control" }) do
    if not core.access(dir .. "/" .. f, "w") then return nil end
  end
  return parent
end

--- The resource limits r (ctr.container.spec's) a rootless container can
-- have: r itself when the caller has a delegated cgroup v2 subtree (parent,
-- from M.cgroup_parent), else none, with a one-line warning on stderr when
-- r had any (docker's WARNING: the container runs without them).
function M.limits(r, parent)
  if parent or not r or next(r) == nil then return r end
  io.stderr:write("luac-ctr: warning: rootless: resource limits (-m, --cpus, --pids-limit, ...) are not applied: ",
    "no delegated cgroup v2 subtree (this host: cgroup ", require("ctr.cgroup").layout(), ")\n")
  return nil
end

--- Remove dir (a container's directory) from inside a user namespace with
-- the caller's subordinate ids (util-linux `unshare --map-auto
-- --map-root-user`, which runs newuidmap/newgidmap): files the container
-- made as its other users are not the caller's. Returns true or nil, err.
function M.remove_all(dir)
  local pid, ferr = core.fork()
  if not pid then return nil, ferr end
  if pid == 0 then
    core.execve("unshare", { "unshare", "--map-auto", "--map-root-user", "--", "rm", "-rf", "--", dir },
      { "PATH=/usr/sbin:/usr/bin:/sbin:/bin" })
    core._exit(127)
  end
  local _, how, code = core.waitpid(pid)
  if how ~= "exited" or code ~= 0 or core.exists(dir) then
    return nil, ("rootless: removing %s in a user namespace (unshare --map-auto) failed (%s %s)"):format(
      dir, tostring(how), tostring(code))
  end
  return true
end

return M
