--- ctr.build.layer: the build's layers and cache.
--
-- Each filesystem-changing step makes an (untagged) image: the stage's
-- image plus one layer in the store, with the config so far. The cache
-- maps a step's key (sha256 of the parent's key, the instruction after
-- expansion, the stage's config and for COPY/ADD the hash of what was
-- copied) to that image:
--
--   <root>/build-cache/<key>   the image id (a hit only while the image exists)
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local state = require "ctr.state"
local util = require "ctr.util"

local M = {}

local function http() return require "ctr.http" end

--- The key of a step: sha256 hex of the parent key and the parts.
function M.key(parent, ...)
  return http().sha256(table.concat({ parent or "", ... }, "\n"))
end

--- The image cached for key, or nil.
function M.lookup(key)
  local id = core.read_file(state.dir("build-cache", key))
  if not id then return nil end
  id = id:match("^(%x+)")
  local store = id and require "ctr.image.store"
  local img = id and state.read_json(store.image_path(id))
  if type(img) ~= "table" or img.id ~= id or type(img.layers) ~= "table" then return nil end
  for _, l in ipairs(img.layers) do
    if not core.exists(store.layer_dir(l)) then return nil end
  end
  return img
end

--- Remember that key made the image id.
function M.remember(key, id)
  local ok, err = util.mkdir_p(state.dir("build-cache"), 448)
  if ok then ok, err = core.write_file_atomic(state.dir("build-cache", key), id .. "\n", 384) end
  if not ok then errors.throw("system", "cannot write the build cache: %s", err) end
end

-- The config kept in a step's image: without what would act on a RUN
-- container of the next step (volumes, healthcheck).
local function step_config(cfg)
  local c = require("ctr.image.config").copy(cfg)
  c.Volumes, c.Healthcheck = nil, nil
  return c
end

--- The content id of a build's image: sha256 of its parent's id, what its
-- new layer holds (content: the step key of a COPY/ADD/WORKDIR, whose
-- result the key's inputs decide; nil for a RUN, whose output nothing
-- decides: a fresh random value, so only the cache gives it again; "" for
-- no layer) and its config. The same file, context and base give the same id.
function M.content_id(parent, content, cfg)
  if content == nil then content = "run " .. state.new_id() end
  return M.key("luac-ctr build image", parent and parent.id or "", content,
    json.encode(require("ctr.image.config").clean(cfg)))
end

--- Register an image: parent's layers (nil: none) plus the tree dir (moved
-- into the store; under <root>/tmp) when given, config cfg, extra fields;
-- its id is content_id(parent, content, cfg), and when that image exists
-- already it is the result (dir removed). ref: "name:tag" or nil. Raises
-- (dir removed) on errors. @return the image
function M.register(parent, dir, cfg, ref, extra, content)
  local store = require "ctr.image.store"
  if not dir then content = content or "" end -- no layer; a layer without content: a RUN's
  local id = M.content_id(parent, content, cfg)
  return state.with_lock(function()
    local old = state.read_json(store.image_path(id))
    if type(old) == "table" and old.id == id then
      if dir then core.remove_all(dir); state.release_temp(dir) end
      return store.register(old.layers, old.config, ref, nil, id)
    end
    local layers = {}
    for _, l in ipairs(parent and parent.layers or {}) do layers[#layers + 1] = l end
    if dir then layers[#layers + 1] = store.add_layer(dir) end
    return store.register(layers, cfg, ref, extra, id)
  end)
end

-- fn(tmp) with a fresh layer dir tmp: fn returns whether to keep it (and
-- the content for content_id); kept, it becomes the image's layer
-- (registered), else it is removed. Returns the image or nil.
function M.with_layer(st, fn, comment)
  local tmp = state.mktemp("buildlayer")
  core.chmod(tmp, 493)
  local ok, res, content = pcall(fn, tmp)
  if ok and res then
    ok, res = pcall(M.register, st.image, tmp, step_config(st.config), nil,
      { parent = st.image and st.image.id or nil, comment = comment, build_step = true }, content)
    if ok then return res end
  else
    core.remove_all(tmp)
    state.release_temp(tmp)
  end
  if not ok then error(res, 0) end
  return nil
end

--- The image's layer dirs, top first (for mounts and read_in_layers).
function M.dirs(img)
  if not img then return {} end
  return require("ctr.image").lower_dirs(img)
end

-- A user or group name of the image's /etc/passwd or /etc/group (read
-- inside the image's layers): its id, within 0..2147483647 as every id.
local function id_of(img, file, name)
  local identity = require "ctr.container.identity"
  local what = "--chown " .. (file == "passwd" and "user" or "group")
  if name:match("^%d+$") then return identity.check_id(name, what) end
  local text = identity.read_layer_file(M.dirs(img), "etc/" .. file) or ""
  for line in text:gmatch("[^\n]+") do
    local n, id = line:match("^([^:]*):[^:]*:([^:]*):")
    if n == name then return identity.check_id(id, what .. " " .. name .. " (in /etc/" .. file .. ") with id") end
  end
  errors.throw("invalid", "--chown: no %s %q in the image's /etc/%s", file == "passwd" and "user" or "group",
    name, file)
end

--- --chown=user[:group] as numeric uid, gid, names looked up in img's
-- /etc/passwd and /etc/group; without a group the gid is the uid (as
-- docker documents).
function M.chown(img, spec)
  local u, g = spec:match("^([^:]+):?(.*)$")
  if not u then errors.throw("invalid", "--chown: invalid value %q", spec) end
  local uid = id_of(img, "passwd", u)
  return uid, g ~= "" and id_of(img, "group", g) or uid
end

--- Run argv in a container of the stage's image (its env, workdir, user;
-- network "none" or the default), stream its output (quiet: kept, shown on
-- failure), and commit its changes as a layer. The container is removed
-- whatever happens. Raises (exit code 1) when the command fails.
function M.run(st, argv, env, network, quiet, comment)
  if not st.image then errors.raise(1, "RUN: the stage has no filesystem (FROM scratch): nothing to run") end
  local container = require "ctr.container"
  local saved, logf
  if quiet then
    logf = state.mktemp("buildlog") .. "/out"
    local fd = core.open(logf, "wronly,creat,trunc,cloexec", 384)
    io.stdout:flush(); io.stderr:flush()
    saved = { core.dup(1), core.dup(2) }
    core.dup2(fd, 1); core.dup2(fd, 2); fd:close()
  end
  local null = core.open("/dev/null", "rdonly,cloexec")
  local ok, res = pcall(container.run, {
    image = st.image.id, cmd = argv, entrypoint = "", env = env, cwd = st.config.WorkingDir ~= "" and
    st.config.WorkingDir or "/", user = st.config.User ~= "" and st.config.User or nil, network = network,
    stdin = null, health = false, remove_on_exit = true, kill_on_interrupt = true,
  })
  null:close()
  if saved then
    io.stdout:flush()
    core.dup2(saved[1], 1); core.dup2(saved[2], 2); saved[1]:close(); saved[2]:close()
  end
  local c = ok and res.container or nil
  local function cleanup()
    if c then pcall(c.remove, c, { force = true }) end
    if logf then core.remove_all(util.dirname(logf)); state.release_temp(util.dirname(logf)) end
  end
  if not ok or res.exit_code ~= 0 then
    if logf then io.stderr:write(core.read_file(logf) or "") end
    cleanup()
    if not ok then error(res, 0) end
    errors.raise(1, "RUN %s: the command returned a non-zero code: %d", json.encode(argv), res.exit_code)
  end
  local lok, img = pcall(M.with_layer, st, function(tmp)
    require("ctr.commit").copy_upper(c:config().root.overlay.upperdir, tmp)
    core.chmod(tmp, 493)
    return true
  end, comment)
  cleanup()
  if not lok then error(img, 0) end
  return img
end

return M
