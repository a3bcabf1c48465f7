--- ctr.seccomp: seccomp profiles (docker's format) turned into the OCI
-- config's `linux.seccomp`.
--
-- A profile is data: `profiles/seccomp-default.json` in the source tree,
-- `<prefix>/share/luac-ctr/profiles/seccomp-default.json` when installed.
-- Users copy it, edit it and pass it with `--security-opt seccomp=FILE`.
-- Its format is docker's: defaultAction, defaultErrnoRet, archMap (or
-- architectures), syscalls [{names, action, errnoRet, args [{index, value,
-- valueTwo, op}], includes {caps, arches, minKernel}, excludes {caps,
-- arches, minKernel}}]. `resolve` keeps the rules that apply to this machine
-- and to the container's capabilities and gives the runtime-spec table that
-- `ctr.core.spawn` compiles (libseccomp) and loads last, just before execve.
local errors = require "ctr.errors"

local M = {}

local ACTIONS = {
  SCMP_ACT_KILL = true, SCMP_ACT_KILL_THREAD = true, SCMP_ACT_KILL_PROCESS = true, SCMP_ACT_TRAP = true,
  SCMP_ACT_ERRNO = true, SCMP_ACT_TRACE = true, SCMP_ACT_ALLOW = true, SCMP_ACT_LOG = true,
}
local OPS = {
  SCMP_CMP_NE = true, SCMP_CMP_LT = true, SCMP_CMP_LE = true, SCMP_CMP_EQ = true,
  SCMP_CMP_GE = true, SCMP_CMP_GT = true, SCMP_CMP_MASKED_EQ = true,
}
local MAX_SIZE = 4 * 1024 * 1024

-- uname -m -> the profile's architecture (SCMP_ARCH_*) and the names
-- `includes.arches` may use for it (docker uses Go's: amd64, arm64, ...).
local NATIVE = {
  x86_64 = { "SCMP_ARCH_X86_64", { "amd64", "x86_64" } },
  aarch64 = { "SCMP_ARCH_AARCH64", { "arm64", "aarch64" } },
  ppc64le = { "SCMP_ARCH_PPC64LE", { "ppc64le" } },
  s390x = { "SCMP_ARCH_S390X", { "s390x" } },
  riscv64 = { "SCMP_ARCH_RISCV64", { "riscv64" } },
  i686 = { "SCMP_ARCH_X86", { "386", "x86" } },
  armv7l = { "SCMP_ARCH_ARM", { "arm" } },
}

--- The default profile's path (nil when it cannot be found).
function M.default_path()
  local candidates = {}
  local ok, launcher = pcall(require, "ctr.launcher")
  if ok and type(launcher) == "table" then
    if launcher.build_tree and launcher.source_dir then
      candidates[#candidates + 1] = launcher.source_dir .. "/profiles/seccomp-default.json"
    end
    candidates[#candidates + 1] = launcher.data_dir .. "/profiles/seccomp-default.json"
  end
  -- installed, loaded by a plain lua5.4: <share>/lua/5.4/ctr/seccomp.lua
  -- beside <share>/luac-ctr
  local me = package.searchpath("ctr.seccomp", package.path)
  local share = me and me:match("^(.*)/lua/5%.4/ctr/seccomp%.lua$")
  if share then candidates[#candidates + 1] = share .. "/luac-ctr/profiles/seccomp-default.json" end
  -- run from the source tree without the launcher (busted, lua5.4)
  local src = debug.getinfo(1, "S").source
  local file = src:sub(1, 1) == "@" and src:sub(2) or ""
  local dir = file:match("^(.*)/lua/ctr/[^/]+$") or (file:match("^lua/ctr/[^/]+$") and ".")
  if dir then candidates[#candidates + 1] = dir .. "/profiles/seccomp-default.json" end
  for _, p in ipairs(candidates) do
    local f = io.open(p, "r")
    if f then f:close(); return p end
  end
  return nil
end

local function bad(path, fmt, ...)
  errors.raise(125, "bad seccomp profile %s: " .. fmt, path, ...)
end

local function check_list(path, v, what)
  if v == nil then return end
  if type(v) ~= "table" then bad(path, "%s must be a list", what) end
  for _, x in ipairs(v) do
    if type(x) ~= "string" then bad(path, "%s must be a list of strings", what) end
  end
end

local function check_filter(path, f, what)
  if f == nil then return end
  if type(f) ~= "table" then bad(path, "%s must be an object", what) end
  check_list(path, f.caps, what .. ".caps")
  check_list(path, f.arches, what .. ".arches")
  if f.minKernel ~= nil and (type(f.minKernel) ~= "string" or not f.minKernel:match("^%d+%.%d+")) then
    bad(path, "%s.minKernel must be a version such as \"4.8\"", what)
  end
end

local function check_errno(path, v, what)
  if v ~= nil and (math.type(v) ~= "integer" or v < 0 or v > 4095) then bad(path, "%s must be an errno number", what) end
end

local function check_rule(path, i, r)
  local what = ("syscalls[%d]"):format(i)
  if type(r) ~= "table" then bad(path, "%s must be an object", what) end
  if type(r.names) ~= "table" or #r.names == 0 then
    if type(r.name) ~= "string" then bad(path, "%s needs names (a non-empty list)", what) end
  end
  check_list(path, r.names, what .. ".names")
  if not ACTIONS[r.action] then bad(path, "%s: unknown or unsupported action %q", what, tostring(r.action)) end
  check_errno(path, r.errnoRet, what .. ".errnoRet")
  if r.args ~= nil and type(r.args) ~= "table" then bad(path, "%s.args must be a list", what) end
  for j, a in ipairs(r.args or {}) do
    local w = ("%s.args[%d]"):format(what, j)
    if type(a) ~= "table" then bad(path, "%s must be an object", w) end
    if math.type(a.index) ~= "integer" or a.index < 0 or a.index > 5 then bad(path, "%s.index must be 0..5", w) end
    if math.type(a.value) ~= "integer" then bad(path, "%s.value must be an integer", w) end
    if a.valueTwo ~= nil and math.type(a.valueTwo) ~= "integer" then bad(path, "%s.valueTwo must be an integer", w) end
    if not OPS[a.op] then bad(path, "%s: unknown operator %q", w, tostring(a.op)) end
  end
  check_filter(path, r.includes, what .. ".includes")
  check_filter(path, r.excludes, what .. ".excludes")
end

--- Check a decoded profile; raises (exit code 125) with one line saying
-- what is wrong. path is only used in the message.
function M.validate(p, path)
  path = path or "(profile)"
  if type(p) ~= "table" then bad(path, "not a JSON object") end
  if not ACTIONS[p.defaultAction] then bad(path, "unknown or missing defaultAction %q", tostring(p.defaultAction)) end
  check_errno(path, p.defaultErrnoRet, "defaultErrnoRet")
  check_list(path, p.architectures, "architectures")
  check_list(path, p.flags, "flags")
  if p.archMap ~= nil and type(p.archMap) ~= "table" then bad(path, "archMap must be a list") end
  for i, a in ipairs(p.archMap or {}) do
    if type(a) ~= "table" or type(a.architecture) ~= "string" then bad(path, "archMap[%d] needs an architecture", i) end
    check_list(path, a.subArchitectures, ("archMap[%d].subArchitectures"):format(i))
  end
  if p.syscalls ~= nil and type(p.syscalls) ~= "table" then bad(path, "syscalls must be a list") end
  for i, r in ipairs(p.syscalls or {}) do check_rule(path, i, r) end
  return p
end

--- Read and check a profile file (docker's format). Raises 125 with one
-- line when it cannot be read, is not JSON or is not a valid profile.
function M.load(path)
  local f, err = io.open(path, "r")
  if not f then errors.raise(125, "cannot read the seccomp profile: %s", err) end
  local text, rerr = f:read(MAX_SIZE)
  local more = text and f:read(1)
  f:close()
  if not text then bad(path, "%s", rerr or "empty file") end
  if more then bad(path, "larger than %d bytes", MAX_SIZE) end
  local p, jerr = require("ctr.json").decode(text)
  if p == nil then bad(path, "%s", jerr) end
  return M.validate(p, path)
end

local function version_ge(have, want)
  local h = { have:match("^(%d+)%.(%d+)") }
  local w = { want:match("^(%d+)%.(%d+)") }
  local h1, h2, w1, w2 = tonumber(h[1]) or 0, tonumber(h[2]) or 0, tonumber(w[1]) or 0, tonumber(w[2]) or 0
  return h1 > w1 or (h1 == w1 and h2 >= w2)
end

-- Does filter f (includes or excludes) hold here? every=true: all its caps
-- must be present (includes); false: any one is enough (excludes).
local function holds(f, env, every)
  local hit = false
  for _, c in ipairs(f.caps or {}) do
    local has = env.caps[c] == true
    if every and not has then return false end
    hit = hit or has
  end
  local arch_hit = false
  for _, a in ipairs(f.arches or {}) do
    if env.arch_names[a] then arch_hit = true end
  end
  if every and f.arches and #f.arches > 0 and not arch_hit then return false end
  local kernel_ok = not f.minKernel or version_ge(env.kernel, f.minKernel)
  if every then return kernel_ok end
  return hit or arch_hit or (f.minKernel ~= nil and kernel_ok)
end

local function machine()
  local u = require("ctr.core").uname()
  return u and u.machine or "x86_64", u and u.release or "0.0"
end

--- Turn a (checked) profile into the OCI config's linux.seccomp for a
-- container whose bounding capabilities are caps (list of "CAP_..."):
-- the native architecture and its sub-architectures from archMap, the rules
-- whose includes hold and whose excludes do not (docker's rules). opts:
-- machine, kernel (default: uname) for tests.
function M.resolve(p, caps, opts)
  opts = opts or {}
  local m, release = machine()
  m, release = opts.machine or m, opts.kernel or release
  local native = NATIVE[m] or { "SCMP_ARCH_" .. m:upper(), { m } }
  local env = { caps = {}, arch_names = {}, kernel = release }
  for _, c in ipairs(caps or {}) do env.caps[c] = true end
  for _, a in ipairs(native[2]) do env.arch_names[a] = true end
  local arches = {}
  for _, a in ipairs(p.architectures or {}) do arches[#arches + 1] = a end
  for _, a in ipairs(p.archMap or {}) do
    if a.architecture == native[1] then
      arches[#arches + 1] = a.architecture
      for _, s in ipairs(a.subArchitectures or {}) do arches[#arches + 1] = s end
    end
  end
  local out = { defaultAction = p.defaultAction, defaultErrnoRet = p.defaultErrnoRet, architectures = arches,
                flags = p.flags, syscalls = {} }
  for _, r in ipairs(p.syscalls or {}) do
    if (not r.includes or holds(r.includes, env, true)) and not (r.excludes and holds(r.excludes, env, false)) then
      out.syscalls[#out.syscalls + 1] = {
        names = r.names or { r.name }, action = r.action, errnoRet = r.errnoRet, args = r.args,
      }
    end
  end
  return out
end

--- The profile for --security-opt seccomp=VALUE: "unconfined" gives false,
-- nil (not given) the default profile, anything else is a file. Raises 125.
function M.profile_for(value)
  if value == "unconfined" then return false end
  if value == nil or value == "" or value == "default" then
    local path = M.default_path()
    if not path then errors.raise(125, "the default seccomp profile (profiles/seccomp-default.json) is missing") end
    return M.load(path)
  end
  return M.load(value)
end

-- The cache's file name: an FNV-style 64-bit hash over 8-byte words (the
-- entry holds the whole key text, compared in full: a collision is a miss,
-- never a wrong filter).
local function hash(s)
  s = s .. ("\0"):rep(-#s % 8)
  local h = -3750763034362895579 -- FNV offset basis 0xcbf29ce484222325
  for i = 1, #s, 8 do h = (h ~ string.unpack("<i8", s, i)) * 0x100000001b3 end
  return ("%016x"):format(h)
end

--- The BPF program of an OCI linux.seccomp table (core.seccomp_compile:
-- the core parses the table's JSON), through a cache in the state root
-- (<root>/cache/seccomp): libseccomp takes tens of milliseconds for a
-- profile of this size, reading the program back a fraction of one. The
-- entry is keyed by the table's JSON, the libseccomp version and the
-- kernel. Returns the program and that JSON (core.exec_in's
-- target.seccomp). Raises 125 when it cannot be built.
function M.program(sc)
  local core = require "ctr.core"
  local state = require "ctr.state"
  local u = core.uname() or {}
  local text = require("ctr.json").encode(sc)
  local key = ("luac-ctr seccomp 2; libseccomp %s; %s %s\n%s\0"):format(core.libseccomp_version,
    tostring(u.release), tostring(u.machine), text)
  local dir = state.dir("cache", "seccomp")
  local path = dir .. "/" .. hash(key)
  local cached = core.read_file(path)
  if cached and #cached > #key and cached:sub(1, #key) == key then return cached:sub(#key + 1), text end
  local bpf, err = core.seccomp_compile(text)
  if not bpf then errors.raise(125, "cannot build the seccomp filter: %s", err) end
  if require("ctr.util").mkdir_p(dir, 448) then
    core.write_file_atomic(path, key .. bpf, 384) -- a cache: a failed write costs a compile next time
  end
  return bpf, text
end

return M
