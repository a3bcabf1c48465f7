--- ctr.image.busybox: the busybox:latest image, built on first use from
-- the host's static busybox (ctr.image.BUSYBOX, /bin/busybox: Debian's
-- busybox-static).
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local state = require "ctr.state"
local util = require "ctr.util"
local store = require "ctr.image.store"
local config = require "ctr.image.config"

local M = {}

local MODE_755, MODE_700, MODE_1777, MODE_644, MODE_640 = 493, 448, 1023, 420, 416

-- the host binary (read from ctr.image at call time, so it can be changed there)
local function host_busybox() return require("ctr.image").BUSYBOX end

local must = errors.check

-- true if the ELF file has no program interpreter (statically linked)
local function is_static_elf(path)
  local f = io.open(path, "rb")
  if not f then return false end
  local hdr = f:read(64)
  if not hdr or #hdr < 64 or hdr:sub(1, 4) ~= "\127ELF" or hdr:byte(5) ~= 2 then
    f:close()
    return hdr ~= nil and hdr:sub(1, 4) == "\127ELF" -- 32-bit: assume fine
  end
  local phoff = string.unpack("<I8", hdr, 0x21)
  local phentsize, phnum = string.unpack("<I2I2", hdr, 0x37)
  f:seek("set", phoff)
  local ph = f:read(phentsize * phnum) or ""
  f:close()
  for i = 0, phnum - 1 do
    if #ph >= i * phentsize + 4 and string.unpack("<I4", ph, i * phentsize + 1) == 3 then
      return false -- PT_INTERP
    end
  end
  return true
end

local function put_file(path, data, mode)
  must(core.write_file_atomic(path, data, mode or MODE_644))
end

local FILES = {
  ["etc/passwd"] = { MODE_644, "root:x:0:0:root:/root:/bin/sh\n" ..
      "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n" ..
      "user:x:1000:1000:user:/home/user:/bin/sh\n" ..
      "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" },
  ["etc/group"] = { MODE_644, "root:x:0:\ndaemon:x:1:\ntty:x:5:\nusers:x:100:\n" ..
      "user:x:1000:\nnogroup:x:65534:\n" },
  ["etc/shadow"] = { MODE_640, "root:*:0:0:99999:7:::\ndaemon:*:0:0:99999:7:::\n" ..
      "user:*:0:0:99999:7:::\nnobody:*:0:0:99999:7:::\n" },
  ["etc/hosts"] = { MODE_644, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" },
  ["etc/hostname"] = { MODE_644, "" },
  ["etc/resolv.conf"] = { MODE_644, "" },
}

local DIRS = {
  { "bin", MODE_755 }, { "sbin", MODE_755 }, { "usr", MODE_755 }, { "usr/bin", MODE_755 },
  { "usr/sbin", MODE_755 }, { "usr/local", MODE_755 }, { "usr/local/bin", MODE_755 },
  { "etc", MODE_755 }, { "root", MODE_700 }, { "home", MODE_755 }, { "home/user", MODE_755, 1000 },
  { "tmp", MODE_1777 }, { "var", MODE_755 }, { "var/tmp", MODE_1777 }, { "var/log", MODE_755 },
  { "run", MODE_755 }, { "proc", MODE_755 }, { "sys", MODE_755 }, { "dev", MODE_755 },
  { "mnt", MODE_755 },
}

local function applets(root)
  local p = must(io.popen(host_busybox() .. " --list-full 2>/dev/null"))
  for line in p:lines() do
    local rel = line:gsub("^/+", "")
    if rel ~= "" and rel ~= "bin/busybox" and not rel:find("%.%.") then
      local path = util.join(root, rel)
      must(util.mkdir_p(util.dirname(path), MODE_755))
      if not core.exists(path) then must(core.symlink("/bin/busybox", path)) end
    end
  end
  local ok, how, code = p:close()
  if not ok then
    errors.throw("system", "%s --list-full failed (%s %s)", host_busybox(), tostring(how), tostring(code))
  end
  if not core.exists(util.join(root, "bin/sh")) then must(core.symlink("/bin/busybox", util.join(root, "bin/sh"))) end
end

local function populate(root)
  must(core.chmod(root, MODE_755))
  for _, d in ipairs(DIRS) do
    local path = util.join(root, d[1])
    must(core.mkdir(path, d[2]))
    must(core.chmod(path, d[2]))
    if d[3] and core.geteuid() == 0 then must(core.chown(path, d[3], d[3])) end -- rootless: ours
  end
  local bin = must(core.read_file(host_busybox()))
  put_file(util.join(root, "bin/busybox"), bin, MODE_755)
  for rel, f in pairs(FILES) do put_file(util.join(root, rel), f[2], f[1]) end
  applets(root)
end

local function create()
  local bb = host_busybox()
  if not core.exists(bb) then
    errors.throw("not_found", "%s", "cannot create the busybox image: " .. bb .. " is missing (install busybox-static)")
  end
  if not is_static_elf(bb) then
    errors.throw("invalid", "%s", "cannot create the busybox image: " .. bb ..
      " is not statically linked (install busybox-static)")
  end
  local tmp = state.mktemp("busybox")
  local ok, err = pcall(populate, tmp)
  if not ok then
    core.remove_all(tmp)
    state.release_temp(tmp)
    if errors.is(err, "interrupted") then error(err, 0) end
    errors.throw("system", "%s", "cannot create the busybox image: " .. errors.message(err))
  end
  local lid = store.add_layer(tmp)
  local cfg = config.default()
  cfg.Cmd = json.array({ "sh" })
  return store.register({ lid }, cfg, "busybox:latest", { comment = "built from the host's " .. bb })
end

--- The busybox:latest image, built (under the global lock) if missing.
-- Raises when it cannot be built.
function M.ensure()
  state.ensure()
  return state.with_lock(function()
    return store.find("busybox:latest") or create()
  end)
end

return M
