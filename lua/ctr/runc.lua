--- ctr.runc: luac-runc, an OCI runtime with runc's command line.
--
--   luac-runc [--root DIR] [--log FILE] [--log-format text|json] [--debug]
--             [--systemd-cgroup] COMMAND [OPTIONS] [ARGS]
--
-- The launcher runs main(...) when called by the name luac-runc (a link to
-- luac-ctr). Each command is a workflow in lua/ctr/runc/<command>.lua: a
-- function(ctx, args) returning the exit code; ctx carries the global options
-- (root = state dir, default /run/luac-runc) and the log. Errors: one line
-- on stderr ("luac-runc: <msg>") and, with --log, one line in the log file in
-- the asked format (json: {"level":"error","msg":...,"time":...}, what podman
-- and containerd read back as the reason); exit code 1, as runc's.
--
-- --systemd-cgroup: there is no systemd to ask (no D-Bus unit is made); the
-- cgroups are made directly in cgroupfs as before, but a cgroupsPath in
-- systemd's slice:prefix:name form is accepted and made as the directories
-- systemd would name ("system.slice:libpod:ID" -> system.slice/libpod-ID.scope;
-- without --systemd-cgroup that form is an error, as runc's).
local core = require "ctr.core"
local errors = require "ctr.errors"
local util = require "ctr.util"

local M = {}

M.VERSION = "0.1.0"
M.OCI_VERSION = "1.0.2"
M.DEFAULT_ROOT = "/run/luac-runc"

M.COMMANDS = { "create", "start", "state", "kill", "delete", "list", "run", "spec", "features", "exec", "ps",
               "pause", "resume", "update" }
local is_command = {}
for _, c in ipairs(M.COMMANDS) do is_command[c] = true end

local USAGE = [[
usage: luac-runc [--root DIR] [--log FILE] [--log-format text|json] [--debug]
                 [--systemd-cgroup] COMMAND [OPTIONS] [ARGS]
commands:
  create --bundle B [--pid-file F] [--console-socket S] [--no-pivot]
         [--no-new-keyring] [--preserve-fds N] ID
  start ID              state ID              kill [--all] ID [SIGNAL]
  delete [--force] ID   list [-q] [--format table|json]
  run [--bundle B] [--pid-file F] [--console-socket S] [--detach] ID
  exec [--process F | ARGS...] [--detach] [--pid-file F] [--console-socket S]
       [--tty] [--cwd D] [--env K=V]... [--user UID[:GID] ] [--cap CAP]...
       [--no-new-privs] [--preserve-fds N] ID
  ps [--format table|json] ID     pause ID     resume ID
  update [--resources F|-] [--memory N] [--memory-swap N] [--cpu-quota N]
         [--cpu-period N] [--cpuset-cpus L] [--cpuset-mems L] [--pids-limit N] ID
  spec [--bundle B]     features              --version
]]

--- Parse args against spec: { flags = { ["--all"] = "all", ... },
-- values = { ["--bundle"] = "bundle", ... }, multi = { ["--env"] = "env" } }
-- (a multi option may be repeated: a list). "--x=v", "--x v" and "-x v"
-- forms; "--" ends the options; the first non-option ends them too (the
-- command's own arguments follow). Returns opts, positionals. Raises on an
-- unknown option.
function M.parse(args, spec, where)
  local opts, pos, i = {}, {}, 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      for j = i + 1, #args do pos[#pos + 1] = args[j] end
      break
    elseif a:sub(1, 1) == "-" and #a > 1 and #pos == 0 then
      local name, val = a:match("^(%-%-?[^=]+)=(.*)$")
      name = name or a
      if spec.flags and spec.flags[name] then
        if val ~= nil then errors.raise(1, "%s: option %s takes no value", where, name) end
        opts[spec.flags[name]] = true
      elseif (spec.values and spec.values[name]) or (spec.multi and spec.multi[name]) then
        if val == nil then
          i = i + 1
          val = args[i]
          if val == nil then errors.raise(1, "%s: option %s needs a value", where, name) end
        end
        if spec.values and spec.values[name] then
          opts[spec.values[name]] = val
        else
          local k = spec.multi[name]
          opts[k] = opts[k] or {}
          table.insert(opts[k], val)
        end
      else
        errors.raise(1, "%s: unknown option %s", where, errors.quote(a))
      end
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return opts, pos
end

--- The one container id a command takes (runc's rule: letters, digits, _ + - .).
function M.id_arg(pos, where, max)
  local id = pos[1]
  if not id then errors.raise(1, "%s: a container id is required", where) end
  if #pos > (max or 1) then errors.raise(1, "%s: unexpected argument %s", where, errors.quote(pos[(max or 1) + 1])) end
  if not id:match("^[%w_%+%-%.]+$") or id == "." or id == ".." or #id > 1024 then
    errors.raise(1, "%s: invalid container id %s", where, errors.quote(id))
  end
  return id
end

local function log_line(ctx, level, msg)
  if not ctx.log then return end
  local line
  if ctx.log_format == "json" then
    line = require("ctr.json").encode({ level = level, msg = msg, time = util.rfc3339() })
  else
    line = ('time="%s" level=%s msg=%s'):format(util.rfc3339(), level, errors.quote(msg))
  end
  local fd = core.open(ctx.log, "wronly,creat,append,cloexec", 420)
  if fd then
    core.write(fd, line .. "\n")
    fd:close()
  end
end

--- The fds passed to a container's process from fd 3 on: --preserve-fds
-- value (a number string or nil) plus, with listen, systemd's LISTEN_FDS
-- when LISTEN_PID is this process (first, as runc). Each must be open here.
-- Returns the count and the env entries the process gets (LISTEN_FDS=n,
-- LISTEN_PID=1) or an empty list.
function M.extra_fds(value, where, listen)
  local n = 0
  if value ~= nil then
    n = value:match("^%d+$") and math.tointeger(tonumber(value))
    if not n or n > 1024 then
      errors.raise(1, "%s: --preserve-fds %s: must be a number from 0 to 1024", where, errors.quote(value))
    end
  end
  local env = {}
  local lfds = listen and os.getenv("LISTEN_FDS")
  if lfds and os.getenv("LISTEN_PID") == tostring(core.getpid()) then
    local l = lfds:match("^%d+$") and math.tointeger(tonumber(lfds))
    if l and l > 0 and l <= 1024 then n, env = n + l, { "LISTEN_FDS=" .. l, "LISTEN_PID=1" } end
  end
  for fd = 3, 2 + n do
    if not core.readlink("/proc/self/fd/" .. fd) then
      errors.raise(1, "%s: fd %d is to be passed on (--preserve-fds/LISTEN_FDS) but is not open", where, fd)
    end
  end
  return n, env
end

--- Run the user's init.lua hooks (ctr.hooks) of event for container c (a
-- table: id, bundle, pid, config, runtime = "luac-runc"); strict: a failure
-- raises, else it is a warning.
function M.user_hooks(ctx, event, c, strict)
  local ok, err = pcall(require("ctr.hooks").run, event, c)
  if ok then return end
  errors.rethrow_interrupt(err)
  if strict then errors.raise(1, "%s", errors.message(err)) end
  M.warn(ctx, "%s", errors.message(err))
end

--- A warning: on stderr and in the log (the command goes on).
function M.warn(ctx, fmt, ...)
  local msg = errors.oneline(fmt:format(...))
  io.stderr:write("luac-runc: warning: ", msg, "\n")
  log_line(ctx, "warning", msg)
end

--- Debug lines go to the log with --debug.
function M.debug(ctx, fmt, ...)
  if ctx.debug then log_line(ctx, "debug", fmt:format(...)) end
end

local GLOBAL = {
  flags = { ["--debug"] = "debug", ["--systemd-cgroup"] = "systemd_cgroup", ["--version"] = "version",
            ["-v"] = "version", ["--help"] = "help", ["-h"] = "help", ["--rootless"] = "rootless" },
  values = { ["--root"] = "root", ["--log"] = "log", ["--log-format"] = "log_format", ["--criu"] = "criu" },
}

local function make_ctx(g)
  local ctx = { root = g.root or M.DEFAULT_ROOT, log = g.log, log_format = g.log_format or "text",
                debug = g.debug or false, systemd_cgroup = g.systemd_cgroup or false }
  if ctx.log_format ~= "text" and ctx.log_format ~= "json" then
    ctx.log_format = "text"
    errors.raise(1, "invalid --log-format %s: use text or json", errors.quote(g.log_format))
  end
  if ctx.root:sub(1, 1) ~= "/" then errors.raise(1, "--root %s: must be an absolute path", errors.quote(ctx.root)) end
  if g.rootless and g.rootless ~= "false" then errors.raise(1, "--rootless: rootless mode is not supported") end
  return ctx
end

local function run_command(ctx, args)
  local cmd = args[1]
  if not cmd then io.stderr:write(USAGE); return 1 end
  if not is_command[cmd] then errors.raise(1, "unknown command %s (see luac-runc --help)", errors.quote(cmd)) end
  local rest = table.move(args, 2, #args, 1, {})
  M.debug(ctx, "%s %s", cmd, table.concat(rest, " "))
  return require("ctr.runc." .. cmd)(ctx, rest) or 0
end

--- Entry point: the arguments after argv[0]; returns the exit code.
function M.main(...)
  local args = { ... }
  -- the global options end at the command name
  local g, rest = {}, args
  local ctx = { log_format = "text" }
  local ok, err = xpcall(function()
    local i = 1
    while args[i] and args[i]:sub(1, 1) == "-" do i = i + 1; if GLOBAL.values[args[i - 1]] then i = i + 1 end end
    -- --log and --log-format first: an error in the other options is logged too
    for j = 1, math.min(i - 1, #args) do
      local name, val = args[j]:match("^(%-%-log[%-%a]*)=(.*)$")
      name, val = name or args[j], val or args[j + 1]
      if name == "--log" then ctx.log = val elseif name == "--log-format" and val == "json" then ctx.log_format = "json" end
    end
    g = M.parse(table.move(args, 1, i - 1, 1, {}), GLOBAL, "global options")
    rest = table.move(args, i, #args, 1, {})
    ctx = make_ctx(g)
    if g.help then io.stdout:write(USAGE); return 0 end
    if g.version then
      print(("luac-runc version %s\nspec: %s"):format(M.VERSION, M.OCI_VERSION))
      return 0
    end
    return run_command(ctx, rest)
  end, function(e)
    if os.getenv("LUAC_CTR_DEBUG") == "1" and type(e) == "string" then return debug.traceback(e, 2) end
    return e
  end)
  if ok then return math.tointeger(err) or 0 end
  local msg = errors.oneline(errors.message(err))
  io.stderr:write("luac-runc: ", msg, "\n")
  log_line(ctx, "error", msg)
  return errors.code(err, 1)
end

return M
