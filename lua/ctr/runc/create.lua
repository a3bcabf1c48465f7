--- luac-runc create [--bundle B] [--pid-file F] [--console-socket S]
--   [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID
--
-- Clone the container's init from the bundle's config.json through
-- core.spawn (the same path as luac-ctr run; the rootfs is the bundle's, no
-- overlay), in its cgroup with its device policy; the init sets itself up
-- completely, then blocks on <root>/<ID>/exec.fifo until `start`. This
-- process then exits: the engine's shim is the init's parent from now on.
-- With process.terminal the pty master is sent over --console-socket
-- (SCM_RIGHTS). --preserve-fds N: fds 3..3+N-1 are passed to the process
-- as they are (with systemd's LISTEN_FDS for this process, those first and
-- LISTEN_FDS/LISTEN_PID=1 in its env, as runc); every other fd is closed.
-- --no-pivot and --no-new-keyring are accepted and change
-- nothing: pivot_root and a fresh session keyring are always used.
-- The config's prestart, createRuntime and createContainer hooks run at the
-- runtime-spec's point: the init stops once its namespaces and mounts exist,
-- before pivot_root (core.spawn's pause_before_pivot), the hooks run
-- (createContainer in the container's mount namespace, ctr.runc.hooks),
-- then it goes on; one failing fails create and leaves nothing.
local core = require "ctr.core"
local errors = require "ctr.errors"
local util = require "ctr.util"
local runc = require "ctr.runc"
local store = require "ctr.runc.store"
local config = require "ctr.runc.config"
local cgroups = require "ctr.runc.cgroups"
local hooks = require "ctr.runc.hooks"

local M = {}

M.OPTS = {
  flags = { ["--no-pivot"] = "no_pivot", ["--no-new-keyring"] = "no_new_keyring", ["--detach"] = "detach",
            ["-d"] = "detach", ["--keep"] = "keep" },
  values = { ["--bundle"] = "bundle", ["-b"] = "bundle", ["--pid-file"] = "pid_file",
             ["--console-socket"] = "console_socket", ["--preserve-fds"] = "preserve_fds" },
}

local function bundle_path(b)
  b = b or "."
  if b:sub(1, 1) ~= "/" then
    local cwd = core.getcwd()
    b = b == "." and cwd or cwd .. "/" .. b
  end
  local trimmed = b:gsub("/+$", "")
  return trimmed ~= "" and trimmed or "/"
end

local function check_opts(o, cfg)
  local env
  o.nfds, env = runc.extra_fds(o.preserve_fds, "create", true)
  cfg.process.env = cfg.process.env or {}
  table.move(env, 1, #env, #cfg.process.env + 1, cfg.process.env)
  if cfg.process.terminal and not o.console_socket then
    errors.raise(1, "process.terminal is true: --console-socket is required")
  end
  if o.console_socket and not cfg.process.terminal then
    errors.raise(1, "--console-socket given but process.terminal is false")
  end
end

local function send_console(path, pty)
  local sock, err = core.unix_connect(path)
  if not sock then errors.raise(1, "--console-socket: %s", err) end
  local ok, serr = core.send_fd(sock, pty)
  sock:close()
  pty:close()
  if not ok then errors.raise(1, "--console-socket: sending the pty master: %s", serr) end
end

local function check(v, err, what)
  if not v then errors.raise(1, "%s: %s", what, err) end
  return v
end

local CREATE_HOOKS = { "prestart", "createRuntime", "createContainer" }

local function has_create_hooks(cfg)
  for _, kind in ipairs(CREATE_HOOKS) do
    if cfg.hooks and cfg.hooks[kind] and #cfg.hooks[kind] > 0 then return true end
  end
  return false
end

-- Everything after the state directory exists; raises having made g and p.
local function launch(ctx, id, bundle, cfg, o, made)
  local fifo = store.fifo(ctx, id)
  check(core.mknod(fifo, "p", 384), nil, "mkfifo " .. fifo)
  check(core.chmod(fifo, 402), nil, "chmod " .. fifo) -- 0622: a non-root init opens it for writing
  local cgpath = cgroups.cgroup_path(cfg.linux, id, ctx.systemd_cgroup)
  made.g = require("ctr.cgroup").create(cgpath, config.limits(cfg.linux.resources))
  made.g:set_devices(config.device_rules(cfg.linux)) -- before any process is in it
  cgroups.cpu_shares(made.g, cfg.linux.resources)
  local cgroupns = false
  for _, n in ipairs(cfg.linux.namespaces or {}) do cgroupns = cgroupns or (n.type == "cgroup" and n.path == nil) end
  cfg.mounts = cgroups.cgroup_mounts(cfg.mounts, cgpath, cgroupns)
  runc.user_hooks(ctx, "prestart", { id = id, bundle = bundle, config = cfg, runtime = "luac-runc" }, true)
  local opts = { stdin = 0, stdout = 1, stderr = 2, start_fifo = fifo, preserve_fds = o.nfds }
  opts.cgroup_join, opts.cgroup_into = made.g:entry()
  -- the config as it will run, encoded once: saved for exec/ps/delete and parsed by the core
  local text = require("ctr.json").encode(cfg)
  check(core.write_file_atomic(store.dir(ctx, id) .. "/config.json", text, 384), nil, "saving the config")
  opts.pause_before_pivot = has_create_hooks(cfg)
  local p, perr = core.spawn(text, opts)
  if not p then errors.raise(1, "cannot create the container process: %s", perr) end
  made.p = p
  local st = {
    id = id, pid = p.pid, starttime = core.starttime(p.pid), bundle = bundle, rootfs = cfg.root.path,
    created = util.rfc3339(), annotations = cfg.annotations, cgroup = cgpath,
  }
  local started, serr = p:start()
  if started == "paused" then
    -- its namespaces and mounts exist, pivot_root is next: the create hooks
    -- (a failure raises: the caller kills it and removes everything)
    local state = store.oci_state(ctx, st, "creating")
    for _, kind in ipairs(CREATE_HOOKS) do hooks.run(cfg, kind, state, p.pid) end
    started, serr = p:start()
  end
  if not started then errors.raise(1, "container init: %s", serr) end
  local pty = p:pty()
  if pty then
    config.console_size(pty, cfg.process)
    send_console(o.console_socket, pty)
  end
  store.save(ctx, st)
  if o.pid_file then check(core.write_file_atomic(o.pid_file, tostring(p.pid), 420), nil, "--pid-file " .. o.pid_file) end
  return p, st
end

--- Create container id from opts o (the parsed options). Returns the spawn
-- proc (its parent is this process) and the state. Raises leaving nothing.
function M.create(ctx, id, o)
  local bundle = bundle_path(o.bundle)
  local cfg = config.load(bundle, id)
  check_opts(o, cfg)
  local dropped = config.ambient_fix(cfg.process)
  if #dropped > 0 then
    runc.debug(ctx, "ambient capabilities not both permitted and inheritable, not raised: %s", table.concat(dropped, " "))
  end
  if o.no_pivot then runc.debug(ctx, "--no-pivot: has no effect, pivot_root is always used") end
  store.ensure_root(ctx)
  local dir = store.dir(ctx, id)
  local ok, err, e = core.mkdir(dir, 448)
  if not ok and e == core.errno.EEXIST then errors.raise(1, "container with id %s already exists", id) end
  check(ok, err, "mkdir " .. dir)
  local made = {}
  local okx, res, st = xpcall(launch, function(x)
    if os.getenv("LUAC_CTR_DEBUG") == "1" and type(x) == "string" then return debug.traceback(x, 2) end
    return x
  end, ctx, id, bundle, cfg, o, made)
  if not okx then
    if made.p then made.p:abort() end
    if made.g then pcall(made.g.remove, made.g, { force = true }) end
    core.remove_all(dir)
    error(res, 0)
  end
  return res, st
end

return setmetatable(M, { __call = function(_, ctx, args)
  local o, pos = runc.parse(args, M.OPTS, "create")
  M.create(ctx, runc.id_arg(pos, "create"), o)
  return 0
end })
