--- luac-runc exec [--process FILE | ARGS...] [--detach] [--pid-file F]
--   [--console-socket S] [--tty] [--cwd D] [--env K=V]... [--user UID[:GID]]
--   [--additional-gids G]... [--cap CAP]... [--no-new-privs] [--preserve-fds N] ID
--
-- Run a process in a running container through core.exec_in, the path of
-- luac-ctr exec: the container's namespaces, cgroup, seccomp filter (from the
-- config it was created with), a new session keyring. --process is a
-- runtime-spec process object (JSON) used as it is; otherwise ARGS with the
-- container's process as the base (env plus --env, cwd or --cwd, user or
-- --user, capabilities plus --cap, noNewPrivileges or --no-new-privs). The
-- process gets this command's stdin, stdout and stderr (the engine's pipes,
-- as runc gives them), or with --tty a pty made inside the container whose
-- master goes to --console-socket (or is relayed here when not detached).
-- Not detached: waits and exits with the process's exit code (128+N for a
-- signal). --preserve-fds N: fds 3..3+N-1 are passed to the process as they
-- are. --detach: exits once the process has exec'd. A process that
-- cannot be started is an error with exit code 255, as runc's.
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local runc = require "ctr.runc"
local store = require "ctr.runc.store"

local OPTS = {
  flags = { ["--detach"] = "detach", ["-d"] = "detach", ["--tty"] = "tty", ["-t"] = "tty",
            ["--no-new-privs"] = "no_new_privs" },
  values = { ["--process"] = "process", ["-p"] = "process", ["--pid-file"] = "pid_file",
             ["--console-socket"] = "console_socket", ["--cwd"] = "cwd", ["--user"] = "user", ["-u"] = "user",
             ["--preserve-fds"] = "preserve_fds", ["--process-label"] = "label", ["--apparmor"] = "apparmor" },
  multi = { ["--env"] = "env", ["-e"] = "env", ["--cap"] = "cap", ["-c"] = "cap",
            ["--additional-gids"] = "gids", ["-g"] = "gids" },
}

local ALL_NS = { "user", "mnt", "pid", "net", "ipc", "uts", "cgroup" }
local CAP_SETS = { "bounding", "effective", "permitted", "inheritable", "ambient" }

local function id_num(s, what)
  local n = type(s) == "string" and s:match("^%d+$") and math.tointeger(tonumber(s))
  if not n or n > 2147483647 then errors.raise(1, "exec: %s %s: must be a number from 0 to 2147483647", what,
    errors.quote(tostring(s))) end
  return n
end

local function user_of(o, base)
  local user = base or { uid = 0, gid = 0 }
  if o.user then
    local u, g = o.user:match("^([^:]*):(.*)$")
    user = { uid = id_num(u or o.user, "--user uid"), gid = g and id_num(g, "--user gid") or 0 }
  end
  if o.gids then
    user.additionalGids = {}
    for i, g in ipairs(o.gids) do user.additionalGids[i] = id_num(g, "--additional-gids") end
  end
  return user
end

local function caps_of(o, base)
  local caps = {}
  for _, set in ipairs(CAP_SETS) do caps[set] = table.move((base or {})[set] or {}, 1, #((base or {})[set] or {}), 1, {}) end
  for _, c in ipairs(o.cap or {}) do
    local name = c:upper()
    if not name:match("^CAP_") then name = "CAP_" .. name end
    if not name:match("^CAP_[A-Z_]+$") then errors.raise(1, "exec: --cap %s: not a capability", errors.quote(c)) end
    for _, set in ipairs(CAP_SETS) do table.insert(caps[set], name) end
  end
  return caps
end

local function env_of(base, extra)
  local env, at = {}, {}
  for _, e in ipairs(base or {}) do env[#env + 1] = e; at[e:match("^[^=]*")] = #env end
  for _, e in ipairs(extra or {}) do
    if not e:find("=", 1, true) then errors.raise(1, "exec: --env %s: use NAME=VALUE", errors.quote(e)) end
    local k = e:match("^[^=]*")
    if at[k] then env[at[k]] = e else env[#env + 1] = e; at[k] = #env end
  end
  return env
end

-- The runtime-spec process to run.
local function process_of(o, pos, cfg)
  if o.process then
    if #pos > 1 then errors.raise(1, "exec: --process and a command cannot both be given") end
    local text, err = core.read_file(o.process)
    if not text then errors.raise(1, "exec: --process %s: %s", o.process, err) end
    local p, jerr = json.decode(text)
    if type(p) ~= "table" then errors.raise(1, "exec: --process %s: %s", o.process, tostring(jerr or "not an object")) end
    require("ctr.runc.config").check_console_size(p)
    return p
  end
  if #pos < 2 then errors.raise(1, "exec: a command is required (ARGS or --process)") end
  local base = cfg.process or {}
  local user = user_of(o, base.user)
  local caps = caps_of(o, base.capabilities)
  if user.uid ~= 0 and not o.cap then -- a non-root user keeps only the bounding set, as luac-ctr exec
    caps = { bounding = caps.bounding, effective = {}, permitted = {}, inheritable = {}, ambient = {} }
  end
  return {
    args = table.move(pos, 2, #pos, 1, {}), env = env_of(base.env, o.env), cwd = o.cwd or base.cwd or "/",
    user = user, capabilities = caps, noNewPrivileges = o.no_new_privs or base.noNewPrivileges or false,
    terminal = o.tty or false, rlimits = base.rlimits,
  }
end

local function check_opts(o, proc)
  o.nfds = runc.extra_fds(o.preserve_fds, "exec", false)
  if (o.label and o.label ~= "") or (o.apparmor and o.apparmor ~= "") then
    errors.raise(1, "exec: SELinux and AppArmor labels are not supported on this host")
  end
  if proc.terminal and o.detach and not o.console_socket then
    errors.raise(1, "exec: --tty with --detach needs --console-socket")
  end
  if o.console_socket and not proc.terminal then errors.raise(1, "exec: --console-socket given without --tty") end
end

local function target_of(st, cfg, me)
  local target = { pid = st.pid, namespaces = {} }
  for _, n in ipairs(ALL_NS) do
    if core.ns_id(st.pid, n) ~= core.ns_id(me, n) then target.namespaces[#target.namespaces + 1] = n end
  end
  local sc = cfg.linux and cfg.linux.seccomp
  if sc then target.seccomp_bpf, target.seccomp = require("ctr.seccomp").program(sc) end
  local g = st.cgroup and require("ctr.cgroup").open(st.cgroup)
  if g then target.cgroup_procs, target.cgroup_into = g:entry() end
  target.stdin, target.stdout, target.stderr = 0, 1, 2
  return target
end

local function send_console(path, pty)
  local sock, err = core.unix_connect(path)
  if not sock then errors.raise(1, "exec: --console-socket: %s", err) end
  local ok, serr = core.send_fd(sock, pty)
  sock:close()
  if not ok then errors.raise(1, "exec: --console-socket: sending the pty master: %s", serr) end
end

local function finish(o, p, proc)
  local pty = p:pty()
  if pty then require("ctr.runc.config").console_size(pty, proc) end
  if pty and o.console_socket then send_console(o.console_socket, pty); pty:close(); pty = nil end
  if o.pid_file then
    local ok, err = core.write_file_atomic(o.pid_file, tostring(p.pid), 420)
    if not ok then errors.raise(1, "exec: --pid-file %s: %s", o.pid_file, err) end
  end
  if o.detach then return 0 end
  local res, err
  if pty then
    res, err = p:supervise { pty = pty, stdin = 0, echo = true, forward_signals = true, raw = core.isatty(0) }
    pty:close()
  else
    res, err = p:supervise { forward_signals = true }
  end
  if not res then errors.raise(1, "exec: waiting for the process: %s", err) end
  if res.signaled then return 128 + (res.signal or 0) end
  return res.exit_code
end

return function(ctx, args)
  local o, pos = runc.parse(args, OPTS, "exec")
  local id = runc.id_arg(pos, "exec", math.huge)
  local st = store.load(ctx, id)
  local status = store.status(ctx, st)
  if status ~= "running" then errors.raise(1, "cannot exec in a %s container", status) end
  local cfg = store.config(ctx, st)
  local proc = process_of(o, pos, cfg)
  require("ctr.runc.config").ambient_fix(proc)
  check_opts(o, proc)
  local target = target_of(st, cfg, core.getpid())
  target.preserve_fds = o.nfds
  target.pidfd = store.pidfd(st)
  if not target.pidfd then errors.raise(1, "container %s is not running", id) end
  local p, err = core.exec_in(json.encode(proc), target)
  target.pidfd:close()
  if not p then errors.raise(255, "exec failed: %s", err) end
  return finish(o, p, proc)
end
