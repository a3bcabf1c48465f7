--- ctr.build.steps: what each instruction does to a stage's state.
--
-- A stage's state: { config = image config, image = the image record of
-- its last layer (nil: scratch), key = cache chain (hex), args = declared
-- ARGs (name -> value), cmd_set = CMD given in this stage }. Metadata
-- instructions change config and key; RUN, COPY, ADD and WORKDIR (when it
-- creates the directory) commit a layer through ctr.build.layer.
local errors = require "ctr.errors"
local json = require "ctr.json"
local parse = require "ctr.build.parse"

local M = {}

--- The variables for $VAR expansion: declared ARGs under the ENV.
function M.vars(st)
  local v = {}
  for k, x in pairs(st.args) do v[k] = x end
  for _, e in ipairs(st.config.Env or {}) do
    local k, x = e:match("^([^=]+)=(.*)$")
    if k then v[k] = x end
  end
  return v
end

local function set_env(cfg, k, v)
  cfg.Env = json.array(cfg.Env or {})
  for i, e in ipairs(cfg.Env) do
    if e:match("^([^=]+)=") == k then cfg.Env[i] = k .. "=" .. v; return end
  end
  cfg.Env[#cfg.Env + 1] = k .. "=" .. v
end

--- The argv of a RUN/CMD/ENTRYPOINT: the JSON form as is, else the stage's
-- SHELL (default /bin/sh -c) with the text.
function M.argv(st, ins, text)
  if ins.json then return json.array(ins.json) end
  local sh = st.config.Shell or { "/bin/sh", "-c" }
  local t = json.array({})
  for _, s in ipairs(sh) do t[#t + 1] = s end
  t[#t + 1] = text or ins.args
  return t
end

-- "1m30s", "500ms", "10s" -> nanoseconds
local UNITS = { ns = 1, us = 1e3, ms = 1e6, s = 1e9, m = 60e9, h = 3600e9 }
local function duration(s, what)
  local total, rest = 0, s
  while rest ~= "" do
    local n, u, after = rest:match("^(%d+%.?%d*)(%a+)(.*)$")
    if not n or not UNITS[u] then errors.throw("invalid", "HEALTHCHECK --%s: invalid duration %q", what, s) end
    total, rest = total + tonumber(n) * UNITS[u], after
  end
  return math.tointeger(math.floor(total))
end

local function healthcheck(st, ins)
  local a = ins.args
  if a:upper() == "NONE" then st.config.Healthcheck = { Test = json.array({ "NONE" }) }; return end
  local body = a:match("^%S+%s+(.*)$") or ""
  local test = ins.json and json.array({ "CMD", table.unpack(ins.json) }) or json.array({ "CMD-SHELL", body })
  local h = { Test = test }
  local names = { interval = "Interval", timeout = "Timeout", ["start-period"] = "StartPeriod",
    ["start-interval"] = "StartInterval" }
  for flag, key in pairs(names) do
    if ins.flags[flag] then h[key] = duration(ins.flags[flag], flag) end
  end
  if ins.flags.retries then
    h.Retries = math.tointeger(tonumber(ins.flags.retries))
    if not h.Retries then errors.throw("invalid", "HEALTHCHECK --retries: %q is not a number", ins.flags.retries) end
  end
  st.config.Healthcheck = h
end

local function expose(st, ins, vars, esc)
  st.config.ExposedPorts = json.object(st.config.ExposedPorts or {})
  for _, w in ipairs(parse.words(ins.args, vars, esc, true)) do
    local lo, hi, proto = w:match("^(%d+)%-?(%d*)/?(%a*)$")
    if not lo then errors.throw("invalid", "EXPOSE: invalid port %q", w) end
    proto = proto ~= "" and proto:lower() or "tcp"
    for p = tonumber(lo), tonumber(hi ~= "" and hi or lo) do
      st.config.ExposedPorts[p .. "/" .. proto] = json.object({})
    end
  end
end

local function volume(st, ins, vars, esc)
  st.config.Volumes = json.object(st.config.Volumes or {})
  local list = ins.json or parse.words(ins.args, vars, esc, true)
  for _, v in ipairs(list) do
    if v == "" then errors.throw("invalid", "VOLUME: an empty path") end
    st.config.Volumes[v] = json.object({})
  end
end

-- The metadata instructions: fn(st, ins, vars, esc) -> the text for the cache key.
M.META = {
  ENV = function(st, ins, vars, esc)
    local t = {}
    for _, kv in ipairs(parse.pairs_of(ins.args, vars, esc, "ENV")) do
      set_env(st.config, kv[1], kv[2] or "")
      vars[kv[1]] = kv[2] or ""
      t[#t + 1] = kv[1] .. "=" .. (kv[2] or "")
    end
    return "ENV " .. table.concat(t, " ")
  end,
  LABEL = function(st, ins, vars, esc)
    st.config.Labels = json.object(st.config.Labels or {})
    local t = {}
    for _, kv in ipairs(parse.pairs_of(ins.args, vars, esc, "LABEL")) do
      st.config.Labels[kv[1]] = kv[2] or ""
      t[#t + 1] = kv[1] .. "=" .. (kv[2] or "")
    end
    return "LABEL " .. table.concat(t, " ")
  end,
  USER = function(st, ins, vars, esc)
    st.config.User = parse.words(ins.args, vars, esc, false)
    return "USER " .. st.config.User
  end,
  STOPSIGNAL = function(st, ins, vars, esc)
    st.config.StopSignal = parse.words(ins.args, vars, esc, false)
    return "STOPSIGNAL " .. st.config.StopSignal
  end,
  CMD = function(st, ins)
    st.config.Cmd = M.argv(st, ins)
    st.cmd_set = true
    return "CMD " .. json.encode(st.config.Cmd)
  end,
  ENTRYPOINT = function(st, ins)
    st.config.Entrypoint = M.argv(st, ins)
    if not st.cmd_set then st.config.Cmd = nil end
    return "ENTRYPOINT " .. json.encode(st.config.Entrypoint)
  end,
  SHELL = function(st, ins)
    st.config.Shell = json.array(ins.json)
    return "SHELL " .. json.encode(st.config.Shell)
  end,
  EXPOSE = function(st, ins, vars, esc) expose(st, ins, vars, esc); return "EXPOSE " .. ins.args end,
  VOLUME = function(st, ins, vars, esc) volume(st, ins, vars, esc); return "VOLUME " .. ins.args end,
  HEALTHCHECK = function(st, ins)
    healthcheck(st, ins)
    return "HEALTHCHECK " .. json.encode(st.config.Healthcheck)
  end,
}

--- ARG in a stage: declare name with its value (--build-arg, else the
-- default, else the global ARG's value when redeclared). used: the set of
-- build args consumed.
function M.arg(st, ins, vars, esc, build_args, globals, used)
  local t = {}
  for _, kv in ipairs(parse.pairs_of(ins.args, vars, esc, "ARG")) do
    local name, default = kv[1], kv[2]
    if not name:match("^[%a_][%w_]*$") then errors.throw("invalid", "ARG: invalid name %q", name) end
    local v = build_args[name]
    if v ~= nil then used[name] = true
    elseif default ~= nil then v = default
    else v = globals and globals[name] end
    st.args[name] = v
    vars[name] = v
    t[#t + 1] = name .. "=" .. tostring(v)
  end
  return "ARG " .. table.concat(t, " ")
end

return M
