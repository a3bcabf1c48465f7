--- ctr.check: the option tables of the API, checked.
--
-- Every function of the high-level API that takes an option table checks
-- it against its schema here: an unknown key (`memroy = "32m"`) or a value
-- of the wrong type is an `invalid` error (ctr.errors, exit code 125) that
-- names the function and the key, and suggests the nearest known key:
--
--   container.create: unknown option "memroy" (did you mean "memory"?)
--   container.run: cmd must be a list of strings, e.g. {"sh", "-c", "echo hi"}
--
-- A string where a list of strings is expected (`cmd = "echo hi"`) is
-- refused, never split: docker's CLI does not split either (the shell does),
-- and a split by blanks would silently run something else for
-- `cmd = "sh -c 'echo hi'"`. The same idea has the same name everywhere:
-- `cmd`, `cwd`, `env`; the older names (`argv` of exec, `workdir` of
-- create/run) are aliases (giving both is an error when they differ).
--
-- Methods check their self (check.self): `c.stop(5)` is an `invalid` error
-- "use c:stop(...), not c.stop(...)".
--
-- A schema maps a key to a type: "string", "boolean", "number" (a number,
-- or a string holding one), "integer", "table", "function", "list" (a list
-- of strings), "map" (string keys, string/number/boolean values), "env" (a
-- list "K=V" or a map), "size" (a string like "64m" or a number), "fd" (an
-- integer or a ctr.fd), "any"; or a function(v) returning nil, why.
-- Alternatives: "string|list". A schema's `_aliases` maps an old name to
-- its key.
local errors = require "ctr.errors"

local M = {}

local LIST_EXAMPLE = '{"sh", "-c", "echo hi"}'

local function is_list(v)
  if type(v) ~= "table" then return false end
  local n = #v
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
  end
  return true
end

local function is_fd(v)
  if math.type(v) == "integer" then return v >= 0 end
  local mt = getmetatable(v)
  return type(v) == "userdata" and mt ~= nil
end

-- Each checker returns true, or false and what was expected.
local TYPES = {
  string = function(v) return type(v) == "string", "a string" end,
  boolean = function(v) return type(v) == "boolean", "true or false" end,
  number = function(v) return tonumber(v) ~= nil, "a number" end,
  integer = function(v) return math.tointeger(tonumber(v)) ~= nil, "an integer" end,
  table = function(v) return type(v) == "table", "a table" end,
  ["function"] = function(v) return type(v) == "function", "a function" end,
  any = function() return true end,
  fd = function(v) return is_fd(v), "an fd (integer or ctr.fd)" end,
  size = function(v) return type(v) == "string" or math.type(v) == "integer", 'a size ("64m") or a number of bytes' end,
  list = function(v)
    if not is_list(v) then return false, "a list of strings, e.g. " .. LIST_EXAMPLE end
    for _, x in ipairs(v) do
      if type(x) ~= "string" then return false, "a list of strings, e.g. " .. LIST_EXAMPLE end
    end
    return true
  end,
  map = function(v)
    if type(v) ~= "table" then return false, 'a table of strings, e.g. {svc = "web"}' end
    for k, x in pairs(v) do
      local t = type(x)
      if type(k) ~= "string" or (t ~= "string" and t ~= "number" and t ~= "boolean") then
        return false, 'a table of strings, e.g. {svc = "web"}'
      end
    end
    return true
  end,
}
local function env_type(v)
  if is_list(v) then return TYPES.list(v) end
  local ok = TYPES.map(v)
  return ok, 'a list {"K=V", ...} or a table {K = "V"}'
end
TYPES["env"] = env_type

-- true, or false and what was expected, for one value against a type spec.
local function check_value(spec, v)
  if type(spec) == "function" then
    local ok, why = spec(v)
    return ok ~= nil and ok ~= false, why
  end
  local wants = {}
  for alt in spec:gmatch("[^|]+") do
    local f = TYPES[alt]
    if not f then errors.throw("invalid", "ctr.check: unknown type %s", alt) end
    local ok, want = f(v)
    if ok then return true end
    wants[#wants + 1] = want
  end
  return false, table.concat(wants, " or ")
end

local function distance(a, b)
  if math.abs(#a - #b) > 3 then return 99 end
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

--- The known key nearest to key (at most 2 edits away, or key with "-"
-- for "_"), or nil.
function M.nearest(key, schema)
  if type(key) ~= "string" then return nil end
  local best, bd = nil, 3
  local names = {}
  for k in pairs(schema) do if k ~= "_aliases" then names[#names + 1] = k end end
  for k in pairs(schema._aliases or {}) do names[#names + 1] = k end
  table.sort(names)
  local norm = key:lower():gsub("%-", "_")
  for _, k in ipairs(names) do
    local d = k == norm and 0 or distance(norm, k)
    if d < bd then best, bd = k, d end
  end
  return best
end

local function typename(v)
  if type(v) == "string" then return "a string" end
  if type(v) == "table" then return "a table" end
  return type(v) == "nil" and "nil" or ("a " .. type(v))
end

--- Check the option table opts of the function `what` (e.g.
-- "container.create") against schema: nil is an empty table; raises an
-- `invalid` error naming the key for an unknown key or a value of the
-- wrong type. Returns a shallow copy with aliases renamed to their keys.
function M.options(what, opts, schema)
  if opts == nil then return {} end
  if type(opts) ~= "table" or getmetatable(opts) ~= nil then
    errors.throw("invalid", "%s: an option table {key = value, ...} expected, got %s", what, typename(opts))
  end
  local aliases = schema._aliases or {}
  local out, given = {}, {}
  for k, v in pairs(opts) do
    local key = aliases[k] or k
    local spec = type(key) == "string" and key ~= "_aliases" and schema[key]
    if not spec then
      local near = M.nearest(k, schema)
      errors.throw("invalid", "%s: unknown option %s%s", what, errors.quote(tostring(k)),
        near and (" (did you mean " .. errors.quote(near) .. "?)") or "")
    end
    local ok, want = check_value(spec, v)
    if not ok then
      if type(v) == "string" and spec == "list" then
        errors.throw("invalid", "%s: %s must be a list of strings, e.g. %s", what, k, LIST_EXAMPLE)
      end
      errors.throw("invalid", "%s: option %s must be %s, not %s", what, k, want or "valid", typename(v))
    end
    if out[key] ~= nil and out[key] ~= v then
      local a, b = given[key], k
      if a > b then a, b = b, a end
      errors.throw("invalid", "%s: %s and %s are the same option, given different values", what, a, b)
    end
    out[key], given[key] = v, k
  end
  return out
end

-- true when x is an instance of class (its metatable, or a metatable whose
-- metatable's __index is class, as ctr.dead's Dead is of Container)
local function instance_of(x, class)
  if type(x) ~= "table" then return false end
  local mt = getmetatable(x)
  for _ = 1, 4 do
    if mt == nil then return false end
    if mt == class then return true end
    local up = getmetatable(mt)
    mt = up and rawget(up, "__index")
  end
  return false
end

--- Raise an `invalid` error unless self is an instance of class: the
-- method `name` was called with a dot (c.stop(5)) instead of a colon.
-- var names the object in the message (default "c"). Returns self.
function M.self(self, class, name, var)
  if instance_of(self, class) then return self end
  var = var or "c"
  errors.throw("invalid", "use %s:%s(...), not %s.%s(...)", var, name, var, name)
end

-- ---------------------------------------------------------------------------
-- the schemas of the API's option tables

local CREATE = {
  image = "string", cmd = "list", entrypoint = "string", name = "string", env = "env",
  env_file = "list", cwd = "string", user = "string", group_add = "list", hostname = "string",
  tty = "boolean", interactive = "boolean", volumes = "list", read_only = "boolean",
  memory = "size", memory_swap = "size", cpus = "string|number", cpuset_cpus = "string",
  pids_limit = "string|integer", cap_add = "list", cap_drop = "list", privileged = "boolean",
  devices = "list", network = "string", network_available = "boolean", ip = "string",
  publish = "list", add_host = "list", dns = "list", rm = "boolean", log_max = "integer",
  log_files = "integer", security_opt = "list", labels = "map", ulimits = "list",
  -- options of other parts of the API, checked here once for all
  userns = "string", uidmap = "list", gidmap = "list",
  mounts = "list", tmpfs = "list", volumes_from = "list", -- ctr.volume.mounts
  health = function(v) return v == false or type(v) == "table", "a table {cmd =, interval =, ...} or false" end,
  restart = "string", init = "boolean", expose = "list", publish_all = "boolean", -- ctr.container.runflags
  sysctl = "list", stop_signal = "string", stop_timeout = "integer", shm_size = "size", oom_kill_disable = "boolean",
  memory_reservation = "size", cpu_shares = "integer", cgroupns = "string", ipc = "string", pid = "string", uts = "string",
  _aliases = { workdir = "cwd" },
}

local RUN = { detach = "boolean", stdin = "fd", timeout = "number", remove_on_exit = "boolean",
  kill_on_interrupt = "boolean" }
for k, v in pairs(CREATE) do RUN[k] = RUN[k] or v end

--- The schemas, by function name (see the header for the types).
M.SCHEMAS = {
  ["container.create"] = CREATE,
  ["container.run"] = RUN,
  ["container.list"] = { label = "string|list", all = "boolean" },
  ["Container:start"] = { detach = "boolean", interactive = "boolean", stdin = "fd", timeout = "number",
    kill_on_interrupt = "boolean" },
  ["Container:stop"] = { timeout = "number", signal = "string|integer" },
  ["Container:remove"] = { force = "boolean", volumes = "boolean" },
  ["container.remove_all"] = { force = "boolean", volumes = "boolean" },
  ["Container:wait"] = { timeout = "number" },
  ["Container:logs"] = { tail = "integer", since = "string|number", ["until"] = "string|number",
    follow = "boolean", timeout = "number" },
  ["Container:exec"] = {
    cmd = "list", env = "env", cwd = "string", user = "string", tty = "boolean", interactive = "boolean",
    stdin = "fd", stdout = "fd", stderr = "fd", capture = "boolean", detach = "boolean", timeout = "number",
    _aliases = { argv = "cmd", workdir = "cwd" },
  },
  ["network.create"] = { name = "string", subnet = "string", prefix = "integer", gateway = "string",
    bridge = "string" },
  ["image.import"] = { change = "list", message = "string", extra = "table" },
  ["image.remove"] = { force = "boolean" },
  ["image.pull"] = { ref = "string", platform = "string", progress = "function" },
  ["image.push"] = { ref = "string", image = "string", progress = "function" },
  ["image.load"] = { progress = "function" },
  ["image.prune"] = { all = "boolean", layers_only = "boolean" },
  ["container.wait_any"] = { timeout = "number" },
  ["container.events"] = { containers = "table", since = "number", all = "boolean" },
  ["Container:commit"] = { ref = "string", change = "list", message = "string", comment = "string", pause = "boolean" },
  ["Container:copy_from"] = { archive = "boolean", follow_link = "boolean" },
  ["container.prune"] = { filter = "list" },
  ["Container:update"] = { memory = "string|integer", memory_swap = "string|integer", cpus = "string|number",
    cpu_shares = "integer|string", pids_limit = "integer|string", cpuset_cpus = "string" },
  ["Container:copy_to"] = { archive = "boolean", follow_link = "boolean" },
  ["Network:connect"] = { ip = "string", aliases = "list", ports = "list", ifname = "string" },
  ["build.build"] = { from = "string|table", steps = "table", tag = "string", tags = "list", context = "string",
    build_args = "map", labels = "map", no_cache = "boolean", pull = "boolean", quiet = "boolean",
    network = "string", target = "string", file = "string", text = "string", progress = "string" },
  ["volume.create"] = { name = "string", labels = "map", driver = "string" },
  ["volume.list"] = { filter = "table" },
  ["volume.prune"] = { all = "boolean", filter = "table" },
  ["Volume:remove"] = { force = "boolean" },
}
M.SCHEMAS["build.file"] = M.SCHEMAS["build.build"]

--- Check opts against the schema registered as `what` in SCHEMAS (see
-- options). Returns the checked copy.
function M.api(what, opts)
  local schema = M.SCHEMAS[what]
  if not schema then errors.throw("invalid", "ctr.check: no schema for %s", tostring(what)) end
  return M.options(what, opts, schema)
end

return M
