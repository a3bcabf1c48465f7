--- ctr.image: the image store.
--
-- An image is a stack of read-only layers plus a default config:
--
--   <root>/layers/<layer-id>/   a file tree, stored once and shared by every
--                               image that lists it (a layer above the first
--                               may hold overlayfs whiteouts and opaque dirs)
--   <root>/images/<id>.json     { id, name, tag, repo_tags = {"name:tag", ...},
--                                 layers = {bottom .. top layer ids},
--                                 config = { Env, Cmd, Entrypoint, WorkingDir,
--                                            User, StopSignal, Labels },
--                                 created = RFC 3339, size = bytes,
--                                 parent = image id, comment }
--
-- Layers of imported tarballs and pulled or loaded images are named by the
-- sha256 of their archive (ctr.registry_store), so the same tarball or
-- registry layer is unpacked once; images pulled or loaded also keep their
-- manifest and config as blobs (digest, repo_digests, blobs fields).
-- Containers mount overlayfs with lowerdir = image.lower_dirs(img) and their
-- own upper/work dirs. References: "name[:tag]" (tag "latest" by default),
-- a full id, or a unique id prefix. "busybox[:latest]" is built on first use
-- from the host's static /bin/busybox (Debian package busybox-static).
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local state = require "ctr.state"
local util = require "ctr.util"

local M = {}

M.BUSYBOX = "/bin/busybox"
M.DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

local MODE_755, MODE_700, MODE_1777, MODE_644, MODE_640 = 493, 448, 1023, 420, 416

-- ---- references -------------------------------------------------------------

local function valid_component(c, first)
  if first and c:match("^[%w.-]+:%d+$") then return true end -- registry host:port
  return c:match("^[a-z0-9]+$") ~= nil or c:match("^[a-z0-9][a-z0-9._-]*[a-z0-9]$") ~= nil
end

--- Split and check a reference "name[:tag]". Returns name, tag (default
-- "latest"), or nil, err. Names are lowercase components ([a-z0-9] with
-- inner ".", "_", "-") separated by "/"; tags are [A-Za-z0-9_][A-Za-z0-9_.-]*
-- (at most 128 characters).
function M.parse_ref(ref)
  if type(ref) ~= "string" or ref == "" then return nil, "invalid reference format: empty image name" end
  local name, tag = ref:match("^(.+):([%w_][%w_.-]*)$")
  if not name then name, tag = ref, "latest" end
  if #tag > 128 then return nil, "invalid reference format: tag too long: " .. ref end
  if name:match("^[0-9a-f]+$") and #name == 64 then
    return nil, "invalid repository name (" .. name .. "), cannot specify 64-byte hexadecimal strings"
  end
  if name:lower() ~= name and not name:match("^[^/]+:%d+/") then
    return nil, "invalid reference format: repository name must be lowercase: " .. ref
  end
  local i = 0
  for c in (name .. "/"):gmatch("([^/]*)/") do
    i = i + 1
    if not valid_component(c, i == 1 and name:find("/") ~= nil) then
      return nil, "invalid reference format: " .. ref
    end
  end
  return name, tag
end

-- ---- the store ----------------------------------------------------------------

local function image_path(id) return state.dir("images", id .. ".json") end

--- The directory of a layer.
function M.layer_dir(layer_id) return state.dir("layers", layer_id) end

-- fill the derived fields name/tag from repo_tags[1]
local function normalize(img)
  img.repo_tags = json.array(img.repo_tags or {})
  img.layers = json.array(img.layers or {})
  local first = img.repo_tags[1]
  if first then
    img.name, img.tag = first:match("^(.*):([^:/]*)$")
  else
    img.name, img.tag = nil, nil
  end
  return img
end

local function save(img)
  normalize(img)
  state.write_json(image_path(img.id), img)
end

-- every image record (unreadable files are skipped)
local function load_all()
  local names = core.readdir(state.dir("images"))
  local t = {}
  for _, n in ipairs(names or {}) do
    local id = n:match("^([0-9a-f]+)%.json$")
    if id then
      local img = state.read_json(state.dir("images", n))
      if type(img) == "table" and img.id == id then t[#t + 1] = normalize(img) end
    end
  end
  return t
end

local function has_tag(img, full)
  for _, t in ipairs(img.repo_tags) do
    if t == full then return true end
  end
  return false
end

-- find without creating: img, matched_tag | nil, err (err nil: not found)
local function find(ref)
  if type(ref) ~= "string" or ref == "" then return nil, "invalid reference format: empty image name" end
  local all = load_all()
  local name, tag = M.parse_ref(ref)
  if name then
    local full = name .. ":" .. tag
    for _, img in ipairs(all) do
      if has_tag(img, full) then return img, full end
    end
  end
  local hex = ref:gsub("^sha256:", "")
  if not hex:match("^[0-9a-f]+$") then return nil end
  local matches = {}
  for _, img in ipairs(all) do
    if img.id == hex then return img end
    if img.id:sub(1, #hex) == hex then matches[#matches + 1] = img end
  end
  if #matches == 1 then return matches[1] end
  if #matches > 1 then
    return nil, ("ambiguous image id prefix %q: it matches %d images"):format(hex, #matches)
  end
  return nil
end

-- ---- config -------------------------------------------------------------------

local function default_config()
  return { Env = json.array({ M.DEFAULT_PATH }), WorkingDir = "", User = "" }
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return setmetatable(t, getmetatable(v))
end

-- normalise a config table (lists as JSON arrays)
local function clean_config(c)
  c = copy(c or {})
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
    if type(v) ~= "table" then error(("invalid %s JSON array %s: %s"):format(what, arg, tostring(err)), 0) end
    for _, s in ipairs(v) do
      if type(s) ~= "string" then error(("invalid %s: %s holds a non-string"):format(what, arg), 0) end
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
    if not k then error("invalid ENV change (expected ENV NAME=value): " .. a, 0) end
    set_env(c.Env, k .. "=" .. v)
  end,
  LABEL = function(c, a)
    local k, v = a:match("^([^=%s]+)=(.*)$")
    if not k then error("invalid LABEL change (expected LABEL key=value): " .. a, 0) end
    c.Labels = json.object(c.Labels or {})
    c.Labels[k] = (v:gsub('^"(.*)"$', "%1"))
  end,
}

--- Apply docker --change instructions ("CMD [\"sh\"]", "CMD echo hi",
-- "ENTRYPOINT ...", "ENV A=b", "WORKDIR /x", "USER 1000", "STOPSIGNAL
-- SIGINT", "LABEL k=v") to a copy of config. Raises on bad instructions.
function M.apply_changes(config, list)
  local c = clean_config(config or default_config())
  for _, ch in ipairs(list or {}) do
    local instr, a = tostring(ch):match("^%s*(%a+)%s+(.-)%s*$")
    local f = instr and changes[instr:upper()]
    if not f then
      error(("unsupported --change instruction %q (supported: CMD, ENTRYPOINT, ENV, LABEL, STOPSIGNAL, USER, WORKDIR)"):format(tostring(ch)), 0)
    end
    f(c, a)
  end
  return c
end

-- ---- registering --------------------------------------------------------------

-- Move a finished tree into layers/; returns the layer id. On failure the
-- tree is removed and an error raised.
local function add_layer(dir)
  local lid = state.new_id()
  local ok, err = core.rename(dir, M.layer_dir(lid))
  if not ok then core.remove_all(dir) end
  state.release_temp(dir)
  if not ok then error("cannot store the layer: " .. err, 0) end
  return lid
end

local function layer_size(lid)
  local n = core.du(M.layer_dir(lid))
  return n or 0
end

-- Give tag `full` to img, taking it from any other image (docker moves a tag).
local function move_tag(img, full, all)
  for _, other in ipairs(all or load_all()) do
    if other.id ~= img.id and has_tag(other, full) then
      local keep = json.array({})
      for _, t in ipairs(other.repo_tags) do
        if t ~= full then keep[#keep + 1] = t end
      end
      other.repo_tags = keep
      save(other)
    end
  end
  if not has_tag(img, full) then table.insert(img.repo_tags, full) end
end

-- Create an image record (caller holds the global lock); id: a content
-- id (pulled, loaded) whose existing record then just gains the tag.
local function register(layers, config, ref, extra, id)
  local old = id and find(id)
  if old and old.id == id then
    if ref then
      local name, tag = M.parse_ref(ref)
      move_tag(old, name .. ":" .. tag)
    end
    for k, v in pairs(extra or {}) do
      if old[k] == nil then old[k] = v end
    end
    save(old)
    return old
  end
  local img = {
    id = id or state.new_id(),
    layers = json.array(layers),
    config = clean_config(config),
    created = util.rfc3339(),
    repo_tags = json.array({}),
  }
  local size = 0
  for _, lid in ipairs(layers) do size = size + layer_size(lid) end
  img.size = size
  for k, v in pairs(extra or {}) do img[k] = v end
  if ref then
    local name, tag = M.parse_ref(ref)
    move_tag(img, name .. ":" .. tag)
  end
  save(img)
  return img
end

-- ---- busybox -------------------------------------------------------------------

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

local function must(ok, err)
  if not ok then error(err, 0) end
  return ok
end

local function put_file(path, data, mode)
  must(core.write_file_atomic(path, data, mode or MODE_644))
end

local BUSYBOX_FILES = {
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

local BUSYBOX_DIRS = {
  { "bin", MODE_755 }, { "sbin", MODE_755 }, { "usr", MODE_755 }, { "usr/bin", MODE_755 },
  { "usr/sbin", MODE_755 }, { "usr/local", MODE_755 }, { "usr/local/bin", MODE_755 },
  { "etc", MODE_755 }, { "root", MODE_700 }, { "home", MODE_755 }, { "home/user", MODE_755, 1000 },
  { "tmp", MODE_1777 }, { "var", MODE_755 }, { "var/tmp", MODE_1777 }, { "var/log", MODE_755 },
  { "run", MODE_755 }, { "proc", MODE_755 }, { "sys", MODE_755 }, { "dev", MODE_755 },
  { "mnt", MODE_755 },
}

local function busybox_applets(root)
  local p = must(io.popen(M.BUSYBOX .. " --list-full 2>/dev/null"))
  for line in p:lines() do
    local rel = line:gsub("^/+", "")
    if rel ~= "" and rel ~= "bin/busybox" and not rel:find("%.%.") then
      local path = util.join(root, rel)
      must(util.mkdir_p(util.dirname(path), MODE_755))
      if not core.exists(path) then must(core.symlink("/bin/busybox", path)) end
    end
  end
  local ok, how, code = p:close()
  if not ok then error(("%s --list-full failed (%s %s)"):format(M.BUSYBOX, tostring(how), tostring(code)), 0) end
  if not core.exists(util.join(root, "bin/sh")) then must(core.symlink("/bin/busybox", util.join(root, "bin/sh"))) end
end

local function populate_busybox(root)
  must(core.chmod(root, MODE_755))
  for _, d in ipairs(BUSYBOX_DIRS) do
    local path = util.join(root, d[1])
    must(core.mkdir(path, d[2]))
    must(core.chmod(path, d[2]))
    if d[3] and core.geteuid() == 0 then must(core.chown(path, d[3], d[3])) end -- rootless: ours
  end
  local bin = must(core.read_file(M.BUSYBOX))
  put_file(util.join(root, "bin/busybox"), bin, MODE_755)
  for rel, f in pairs(BUSYBOX_FILES) do put_file(util.join(root, rel), f[2], f[1]) end
  busybox_applets(root)
end

local function create_busybox()
  if not core.exists(M.BUSYBOX) then
    error("cannot create the busybox image: " .. M.BUSYBOX .. " is missing (install busybox-static)", 0)
  end
  if not is_static_elf(M.BUSYBOX) then
    error("cannot create the busybox image: " .. M.BUSYBOX .. " is not statically linked (install busybox-static)", 0)
  end
  local tmp = state.mktemp("busybox")
  local ok, err = pcall(populate_busybox, tmp)
  if not ok then
    core.remove_all(tmp)
    state.release_temp(tmp)
    if errors.is(err, "interrupted") then error(err, 0) end
    error("cannot create the busybox image: " .. tostring(err), 0)
  end
  local lid = add_layer(tmp)
  local config = default_config()
  config.Cmd = json.array({ "sh" })
  return register({ lid }, config, "busybox:latest", { comment = "built from the host's " .. M.BUSYBOX })
end

--- The busybox:latest image, built (under the global lock) if missing.
-- Raises when it cannot be built.
function M.ensure_busybox()
  state.ensure()
  return state.with_lock(function()
    return find("busybox:latest") or create_busybox()
  end)
end

-- ---- public API ------------------------------------------------------------------

--- Find an image by "name[:tag]", full id or unique id prefix ("sha256:"
-- accepted). "busybox" / "busybox:latest" is built on first use.
-- @return the image table, or nil, err ("no such image: x", ambiguous
-- prefix, busybox cannot be built)
function M.resolve(ref)
  local img, err = find(ref)
  if img then return img end
  if err then return nil, err end
  local name, tag = M.parse_ref(ref)
  if not name then return nil, tag end
  if name == "busybox" and tag == "latest" then
    local ok, res = pcall(M.ensure_busybox)
    if not ok and errors.is(res, "interrupted") then error(res, 0) end -- not "no image"
    if not ok then return nil, tostring(res) end
    return res
  end
  return nil, "no such image: " .. ref
end

--- Absolute layer directories of img, TOP layer first (overlayfs lowerdir order).
function M.lower_dirs(img)
  local t = {}
  for i = #img.layers, 1, -1 do t[#t + 1] = M.layer_dir(img.layers[i]) end
  return t
end

--- All images, newest first.
function M.list()
  local all = load_all()
  table.sort(all, function(a, b)
    if a.created ~= b.created then return (a.created or "") > (b.created or "") end
    return a.id < b.id
  end)
  return all
end

--- Import a tarball (plain, gzip, xz, zstd, bzip2; as `docker export`
-- writes) as a one-layer image. ref: "name[:tag]" or nil (untagged); the
-- tag moves from any image that had it. opts.change: list of --change
-- instructions; opts.message: a comment. Extraction refuses absolute paths,
-- ".." and symlink traversal; a failure leaves nothing behind.
-- tarball "-" reads standard input. Raises on errors. @return the image table
function M.import(tarball, ref, opts)
  opts = opts or {}
  if ref ~= nil then
    local ok, err = M.parse_ref(ref)
    if not ok then error(err, 0) end
  end
  local config = M.apply_changes(default_config(), opts.change)
  if tarball == "-" then return M.import_stream(io.stdin, ref, opts) end
  local st, err = core.stat(tarball)
  if not st then error("cannot import " .. tarball .. ": " .. err, 0) end
  if st.type ~= "file" then error("cannot import " .. tarball .. ": not a regular file", 0) end
  local store = require "ctr.registry_store"
  local rok, img = pcall(function()
    local d = store.digest_file(tarball)
    local lid = store.check_digest(d)
    store.unpack_layer(tarball, lid)
    return state.with_lock(function()
      store.unpack_layer(tarball, lid) -- again if an rmi removed it meanwhile
      return register({ lid }, config, ref, { comment = opts.message })
    end)
  end)
  if not rok then errors.rethrow_interrupt(img) end
  if not rok then error("cannot import " .. tarball .. ": " .. errors.message(img), 0) end
  return img
end

--- Store an image whose layers are in the store already (pull, load):
-- opts = { id = content id (the config's sha256 hex), layers = {ids, bottom
-- first}, config = the image config's "config" part, ref = "name:tag" or
-- nil, extra = fields of the record (digest, repo_digests, blobs, ...) }.
-- An image with that id just gains the tag. Raises on errors.
-- @return the image table
function M.store_image(opts)
  if opts.ref ~= nil then
    local ok, err = M.parse_ref(opts.ref)
    if not ok then errors.throw("invalid", "%s", err) end
  end
  state.ensure()
  return state.with_lock(function()
    for _, lid in ipairs(opts.layers) do
      if not core.exists(M.layer_dir(lid)) then errors.throw("system", "layer %s is missing", lid) end
    end
    local img = register(opts.layers, opts.config or default_config(), opts.ref, opts.extra, opts.id)
    for _, k in ipairs({ "repo_digests", "blobs" }) do -- lists that gather over pulls
      img[k] = json.array(img[k] or {})
      for _, v in ipairs(opts.extra and opts.extra[k] or {}) do
        local seen = false
        for _, x in ipairs(img[k]) do seen = seen or x == v end
        if not seen then table.insert(img[k], v) end
      end
    end
    save(img)
    return img
  end)
end

--- Import a tarball read from an open Lua file (e.g. io.stdin: `import -`):
-- it is copied to <root>/tmp first. Same options and result as image.import.
function M.import_stream(f, ref, opts)
  if ref ~= nil then
    local ok, err = M.parse_ref(ref)
    if not ok then error(err, 0) end
  end
  M.apply_changes(default_config(), (opts or {}).change) -- fail early on bad changes
  local dir = state.mktemp("stdin")
  local path = util.join(dir, "archive")
  local ok, res = pcall(function()
    local out = assert(io.open(path, "wb"))
    while true do
      local chunk = f:read(65536)
      if not chunk then break end
      assert(out:write(chunk))
    end
    assert(out:close())
    return M.import(path, ref, opts)
  end)
  core.remove_all(dir)
  state.release_temp(dir)
  if not ok then error(res, 0) end
  return res
end

--- Register a new image made of parent's layers plus the tree layer_dir
-- (moved into the store; it should live under <root>/tmp, same filesystem).
-- Used by commit. opts: { parent = image table or reference (nil: a base
-- image), layer_dir = path, ref = "name:tag" or nil (untagged), config =
-- table (default: the parent's), comment = string }. Raises on errors.
-- @return the image table
function M.add_layer_image(opts)
  local parent = opts.parent
  if type(parent) == "string" then parent = assert(M.resolve(parent)) end
  if opts.ref ~= nil then
    local ok, err = M.parse_ref(opts.ref)
    if not ok then error(err, 0) end
  end
  if type(opts.layer_dir) ~= "string" then error("image.add_layer_image: layer_dir expected", 2) end
  return state.with_lock(function()
    local layers = {}
    if parent then
      for _, l in ipairs(parent.layers) do layers[#layers + 1] = l end
    end
    layers[#layers + 1] = add_layer(opts.layer_dir)
    local config = opts.config or (parent and parent.config) or default_config()
    return register(layers, config, opts.ref, { parent = parent and parent.id or nil, comment = opts.comment })
  end)
end

--- Containers (under <root>/containers/*/state.json) whose image_id is id:
-- list of { id =, name = }. A container whose state is unreadable (dead)
-- counts when its config.json names one of the image's layers.
function M.containers_using(id)
  local t = {}
  local rec = state.read_json(image_path(id))
  for _, cid in ipairs(core.readdir(state.dir("containers")) or {}) do
    local st = state.read_json(state.dir("containers", cid, "state.json"))
    if type(st) == "table" and (st.image_id == id or st.image == id) then
      t[#t + 1] = { id = st.id or cid, name = st.name }
    elseif type(st) ~= "table" and type(rec) == "table" then
      local cfg = core.read_file(state.dir("containers", cid, "config.json")) or ""
      for _, l in ipairs(rec.layers or {}) do
        if cfg:find(l, 1, true) then t[#t + 1] = { id = cid }; break end
      end
    end
  end
  return t
end

--- Give the image ref the additional name newref ("name[:tag]"); the tag
-- moves from any other image that had it. Raises on errors. @return the image
function M.tag(ref, newref)
  local name, tag = M.parse_ref(newref)
  if not name then error(tag, 0) end
  local src, err = M.resolve(ref)
  if not src then error(err, 0) end
  return state.with_lock(function()
    local img = find(src.id)
    if not img then error("no such image: " .. ref, 0) end
    move_tag(img, name .. ":" .. tag)
    save(img)
    return img
  end)
end

--- The image record for ref (a copy, with layer_dirs added), or nil, err.
function M.inspect(ref)
  local img, err = M.resolve(ref)
  if not img then return nil, err end
  local t = copy(img)
  t.layer_dirs = M.lower_dirs(img)
  return t
end

local function untag(img, full)
  local keep = json.array({})
  for _, t in ipairs(img.repo_tags) do
    if t ~= full then keep[#keep + 1] = t end
  end
  img.repo_tags = keep
end

-- delete the record and every layer no remaining image uses
local function delete_image(img)
  must(core.unlink(image_path(img.id)))
  local used = {}
  for _, other in ipairs(load_all()) do
    for _, l in ipairs(other.layers) do used[l] = true end
    for _, b in ipairs(other.blobs or {}) do used[b] = true end
  end
  require("ctr.registry_store").remove_unused(img.blobs or {}, used)
  for _, lid in ipairs(img.layers) do
    if not used[lid] then
      local dir = M.layer_dir(lid)
      local trash = state.dir("tmp", "deleted-" .. lid)
      if core.rename(dir, trash) then dir = trash end
      local ok, err = core.remove_all(dir)
      if not ok then error("image " .. img.id .. " deleted, but its layer could not be removed: " .. err, 0) end
    end
  end
end

local function in_use_error(img, what, users)
  local names = {}
  for _, u in ipairs(users) do names[#names + 1] = u.name or util.short_id(u.id) end
  error(("unable to remove %s (must force): image %s is used by container%s %s")
    :format(what, util.short_id(img.id), #users > 1 and "s" or "", table.concat(names, ", ")), 0)
end

--- Remove an image (docker rmi): by tag, only that tag goes unless it is
-- the last one; by id, the image goes (refused if it has several tags,
-- unless opts.force). Refused while a container uses the image, unless
-- opts.force: then it is only untagged (its layers stay for the
-- container). Layers no other image uses are deleted.
-- Raises on errors. @return list of lines ("Untagged: x:y", "Deleted: <id>")
function M.remove(ref, opts)
  opts = require("ctr.check").api("image.remove", opts)
  state.ensure()
  return state.with_lock(function()
    local img, how = find(ref)
    if not img then error(how or ("no such image: " .. tostring(ref)), 0) end
    local out = {}
    local users = M.containers_using(img.id)
    local by_tag = how
    if by_tag and (#img.repo_tags > 1 or #users > 0) then
      if #img.repo_tags == 1 and not opts.force then in_use_error(img, by_tag, users) end
      untag(img, by_tag)
      save(img)
      return { "Untagged: " .. by_tag }
    end
    if not by_tag and #users > 0 then
      if not opts.force then in_use_error(img, util.short_id(img.id), users) end
      for _, t in ipairs(img.repo_tags) do out[#out + 1] = "Untagged: " .. t end
      img.repo_tags = json.array({})
      save(img)
      return out
    end
    if not by_tag and #img.repo_tags > 1 and not opts.force then
      error(("unable to delete %s (must be forced): image is referenced in multiple repositories (%s)")
        :format(util.short_id(img.id), table.concat(img.repo_tags, ", ")), 0)
    end
    for _, t in ipairs(img.repo_tags) do out[#out + 1] = "Untagged: " .. t end
    delete_image(img)
    out[#out + 1] = "Deleted: " .. img.id
    return out
  end)
end

-- ---- the object API (ctr.registry_image) ----------------------------------------------

local function object() return require "ctr.registry_image" end
--- The Image object for ref (methods tag, remove, inspect, push); raises
-- "not_found". See ctr.registry_image.
function M.get(ref) return object().get(ref) end
--- Pull from a registry: image.pull{ref=, platform=, progress=function(ev)}.
-- @return the Image
function M.pull(opts) return object().pull(opts) end
--- Push to a registry: image.push{ref=, image=, progress=}. @return the digest
function M.push(opts) return object().push(opts) end
--- Save images to an archive (docker-archive + OCI layout): image.save(refs, path).
function M.save(refs, path) return object().save(refs, path) end
--- Load an archive's images: image.load(path). @return list of Images
function M.load(path, opts) return object().load(path, opts) end
--- Remove unused images (untagged; opts.all: all) and unreferenced layers and blobs.
function M.prune(opts) return object().prune(opts) end

return M
