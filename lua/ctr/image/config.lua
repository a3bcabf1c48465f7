--- ctr.image.config: an image's default config and docker's --change
-- instructions.
local errors = require "ctr.errors"
local json = require "ctr.json"

local M = {}

M.DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

--- The config of an image made from nothing: PATH only.
function M.default()
  return { Env = json.array({ M.DEFAULT_PATH }), WorkingDir = "", User = "" }
end

--- A deep copy of v (metatables kept).
function M.copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = M.copy(x) end
  return setmetatable(t, getmetatable(v))
end

--- A normalised copy of a config table (lists as JSON arrays).
function M.clean(c)
  c = M.copy(c or {})
  c.Env = json.array(c.Env or { M.DEFAULT_PATH })
  if c.Cmd then c.Cmd = json.array(c.Cmd) end
  if c.Entrypoint then c.Entrypoint = json.array(c.Entrypoint) end
  c.WorkingDir = c.WorkingDir or ""
  c.User = c.User or ""
  if c.Labels then c.Labels = json.object(c.Labels) end
  return c
end

local function exec_or_shell(arg, what)
  if arg:match("^%s*%[") then
    local v, err = json.decode(arg)
    if type(v) ~= "table" then errors.throw("invalid", "invalid %s JSON array %s: %s", what, arg, tostring(err)) end
    for _, s in ipairs(v) do
      if type(s) ~= "string" then errors.throw("invalid", "invalid %s: %s holds a non-string", what, arg) end
    end
    return json.array(v)
  end
  return json.array({ "/bin/sh", "-c", arg })
end

local function set_env(env, kv)
  local k = kv:match("^([^=]+)=")
  for i, e in ipairs(env) do
    if e:match("^([^=]+)=") == k then
      env[i] = kv
      return
    end
  end
  env[#env + 1] = kv
end

local changes = {
  CMD = function(c, a) c.Cmd = exec_or_shell(a, "CMD") end,
  ENTRYPOINT = function(c, a) c.Entrypoint = exec_or_shell(a, "ENTRYPOINT") end,
  WORKDIR = function(c, a) c.WorkingDir = a end,
  USER = function(c, a) c.User = a end,
  STOPSIGNAL = function(c, a) c.StopSignal = a end,
  ENV = function(c, a)
    local k, v = a:match("^([%w_]+)=(.*)$")
    if not k then k, v = a:match("^([%w_]+)%s+(.*)$") end
    if not k then errors.throw("invalid", "%s", "invalid ENV change (expected ENV NAME=value): " .. a) end
    set_env(c.Env, k .. "=" .. v)
  end,
  VOLUME = function(c, a) -- VOLUME /a /b or VOLUME ["/a", "/b"]: anonymous volumes of run
    local list = a:match("^%s*%[") and exec_or_shell(a, "VOLUME") or {}
    if #list == 0 then for p in a:gmatch("%S+") do list[#list + 1] = p end end
    c.Volumes = json.object(c.Volumes or {})
    for _, p in ipairs(list) do
      if p:sub(1, 1) ~= "/" then errors.throw("invalid", "invalid VOLUME change %q: paths must be absolute", a) end
      c.Volumes[p] = json.object({})
    end
  end,
  LABEL = function(c, a)
    local k, v = a:match("^([^=%s]+)=(.*)$")
    if not k then errors.throw("invalid", "%s", "invalid LABEL change (expected LABEL key=value): " .. a) end
    c.Labels = json.object(c.Labels or {})
    c.Labels[k] = (v:gsub('^"(.*)"$', "%1"))
  end,
}

--- Apply docker --change instructions ("CMD [\"sh\"]", "CMD echo hi",
-- "ENTRYPOINT ...", "ENV A=b", "WORKDIR /x", "USER 1000", "STOPSIGNAL
-- SIGINT", "LABEL k=v", "VOLUME /data") to a copy of config. Raises on bad instructions.
function M.apply_changes(config, list)
  local c = M.clean(config or M.default())
  for _, ch in ipairs(list or {}) do
    local instr, a = tostring(ch):match("^%s*(%a+)%s+(.-)%s*$")
    local f = instr and changes[instr:upper()]
    if not f then
      errors.throw("invalid", "unsupported --change instruction %q (supported: CMD, ENTRYPOINT, ENV, LABEL, "
        .. "STOPSIGNAL, USER, VOLUME, WORKDIR)", tostring(ch))
    end
    f(c, a)
  end
  return c
end

return M
