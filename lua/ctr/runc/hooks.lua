--- ctr.runc.hooks: the runtime-spec hooks of a bundle's config.json
-- (prestart, createRuntime, createContainer, startContainer, poststart,
-- poststop). Each hook { path, args, env, timeout } runs as a child of
-- luac-runc: path is executed with args as its argv (args[1] is argv[0];
-- default { path }), env as its whole environment (default: empty), the
-- container's runtime-spec state JSON on its stdin; its stdout and stderr are
-- collected and the last of them quoted when it fails. timeout (seconds):
-- past it the hook's process group is killed and the hook fails. A hook
-- fails when it cannot be started, exits non-zero, is killed or times out;
-- the hooks of one kind run in order and the first failure stops them.
--
-- Where (see create.lua, start.lua, delete.lua): prestart and createRuntime
-- in the runtime's namespaces, once the container's namespaces exist and
-- before its pivot_root; createContainer then, joined to all of the
-- container's namespaces but the user one, its mount namespace included:
-- before pivot_root its root is still the runtime's, so the path resolves
-- in the runtime's mount namespace, as the runtime-spec says; startContainer
-- in all of the container's namespaces after `start`, before the process
-- execs (the path resolved in the container's root).
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"

local M = {}

M.KINDS = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" }
local is_kind = {}
for _, k in ipairs(M.KINDS) do is_kind[k] = true end

local function strings(v, where)
  if v == nil then return nil end
  if type(v) ~= "table" then errors.raise(1, "config.json: %s: must be a list of strings", where) end
  for i, s in ipairs(v) do
    if type(s) ~= "string" or s:find("\0", 1, true) then
      errors.raise(1, "config.json: %s[%d]: must be a string", where, i)
    end
  end
  return v
end

--- Check config.hooks (raises naming the bad field).
function M.check(hooks)
  if hooks == nil then return end
  if type(hooks) ~= "table" then errors.raise(1, "config.json: hooks: must be an object") end
  for kind, list in pairs(hooks) do
    if not is_kind[kind] then errors.raise(1, "config.json: hooks.%s: unknown hook kind", tostring(kind)) end
    if type(list) ~= "table" then errors.raise(1, "config.json: hooks.%s: must be a list", kind) end
    for i, h in ipairs(list) do
      local where = ("hooks.%s[%d]"):format(kind, i)
      if type(h) ~= "table" then errors.raise(1, "config.json: %s: must be an object", where) end
      for k in pairs(h) do
        if k ~= "path" and k ~= "args" and k ~= "env" and k ~= "timeout" then
          errors.raise(1, "config.json: %s.%s: unknown field", where, tostring(k))
        end
      end
      if type(h.path) ~= "string" or h.path:sub(1, 1) ~= "/" then
        errors.raise(1, "config.json: %s.path: must be an absolute path", where)
      end
      strings(h.args, where .. ".args")
      strings(h.env, where .. ".env")
      if h.timeout ~= nil and (math.type(h.timeout) ~= "integer" or h.timeout <= 0) then
        errors.raise(1, "config.json: %s.timeout: must be a positive integer (seconds)", where)
      end
    end
  end
end

local NS_OF = { createContainer = "net,ipc,uts,cgroup,pid,mnt", startContainer = "net,ipc,uts,cgroup,pid,mnt" }

-- In the forked child: stdin, stdout/stderr, namespaces, exec. Never returns.
local function child(h, kind, fds, pid)
  local inr, outw = fds[1], fds[4]
  fds[2]:close() -- our end of its stdin: a process of ours that holds it would keep the hook from EOF
  fds[3]:close()
  core.signal("PIPE", "default")
  core.setpgid(0, 0)
  core.dup2(inr, 0)
  core.dup2(outw, 1)
  core.dup2(outw, 2)
  local argv = (h.args and #h.args > 0) and h.args or { h.path }
  if pid and NS_OF[kind] then
    local ok, err = core.setns_pid(pid, NS_OF[kind])
    if not ok then io.stderr:write("joining the container's namespaces: ", err, "\n"); core._exit(126) end
    -- a new pid namespace holds our children only: the hook is a grandchild
    local gpid = core.fork()
    if gpid ~= 0 then
      local _, how, code = core.waitpid(gpid)
      core._exit(how == "exited" and code or 128 + (code or 0))
    end
  end
  local _, err = core.execve(h.path, argv, h.env or {})
  io.stderr:write("exec ", h.path, ": ", tostring(err), "\n")
  core._exit(127)
end

-- Wait for pid, collecting its output from outr, until timeout (seconds or nil).
local function wait_hook(pid, outr, timeout)
  local out, deadline, eof = {}, timeout and core.clock("monotonic") + timeout, false
  while true do
    local wpid, how, code = core.waitpid(pid, "nohang")
    if wpid == pid then
      local rest = core.read(outr, 65536)
      if rest then out[#out + 1] = rest end
      return how, code, table.concat(out)
    end
    if deadline and core.clock("monotonic") > deadline then
      core.kill(-pid, "KILL")
      core.waitpid(pid)
      return "timeout", timeout, table.concat(out)
    end
    if eof then core.sleep(0.02) else core.poll({ { outr, "in" } }, 50) end
    local s = core.read(outr, 65536)
    if s == "" then eof = true elseif s and #out < 64 then out[#out + 1] = s end
  end
end

local function run_one(h, kind, i, state, pid)
  local inr, inw = assert(core.pipe())
  local outr, outw = assert(core.pipe("cloexec,nonblock"))
  local cpid, ferr = core.fork()
  if cpid == 0 then
    pcall(child, h, kind, { inr, inw, outr, outw }, pid)
    core._exit(126)
  end
  inr:close()
  outw:close()
  if not cpid then inw:close(); outr:close(); errors.raise(1, "%s hook #%d: fork: %s", kind, i, ferr) end
  core.signal("PIPE", "ignore") -- a hook that does not read its stdin: EPIPE here, not a signal
  core.write(inw, state)
  inw:close()
  core.signal("PIPE", "default")
  local how, code, out = wait_hook(cpid, outr, h.timeout)
  outr:close()
  local tail = out:sub(-400):gsub("%s+$", "")
  tail = tail ~= "" and (": " .. errors.oneline(tail)) or ""
  if how == "timeout" then
    local msg = ("%s hook #%d (%s) did not finish in %d s%s"):format(kind, i, h.path, code, tail)
    error(errors.new { kind = "timeout", code = 1, msg = msg }, 0)
  elseif how ~= "exited" then
    errors.raise(1, "%s hook #%d (%s) killed by signal %s%s", kind, i, h.path, tostring(code), tail)
  elseif code ~= 0 then
    errors.raise(1, "%s hook #%d (%s) exited with status %d%s", kind, i, h.path, code, tail)
  end
end

--- Run the hooks of kind from cfg.hooks, in order, with the runtime-spec
-- state st (a table) on their stdin; pid: the container's init (for the
-- hooks that join its namespaces). Raises on the first that fails.
function M.run(cfg, kind, st, pid)
  local list = cfg.hooks and cfg.hooks[kind]
  if not list or #list == 0 then return end
  local state = json.encode(st)
  for i, h in ipairs(list) do run_one(h, kind, i, state, pid) end
end

return M
