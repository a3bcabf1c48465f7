--- ctr.build.engine: runs parsed instructions (a Containerfile's, or the
-- steps of a Lua build) stage by stage, with docker's plain progress.
--
-- ARG before the first FROM is seen by FROM lines only, unless a stage
-- redeclares it; each FROM starts a stage from an image, `scratch` or an
-- earlier stage (by name or index); the last stage (or --target's) is the
-- image. RUN, COPY, ADD and a WORKDIR that creates its directory commit a
-- layer; the others change the config only. A step whose key is cached
-- reuses the cached layer ("--> Using cache <id>").
local errors = require "ctr.errors"
local json = require "ctr.json"
local parse = require "ctr.build.parse"
local steps = require "ctr.build.steps"
local layer = require "ctr.build.layer"
local copy = require "ctr.build.copy"

local M = {}

-- Split instructions into the global ARGs and the stages.
local function stages_of(list)
  local globals, stages = {}, {}
  for _, ins in ipairs(list) do
    if ins.cmd == "FROM" then
      local words = {}
      for w in ins.args:gmatch("%S+") do words[#words + 1] = w end
      stages[#stages + 1] = { from = ins, image_ref = words[1], name = words[3] and words[3]:lower(), list = {} }
    elseif #stages == 0 then
      if ins.cmd ~= "ARG" then errors.throw("invalid", "%s:%d: %s before FROM", ins.file, ins.line, ins.cmd) end
      globals[#globals + 1] = ins
    else
      table.insert(stages[#stages].list, ins)
    end
  end
  if #stages == 0 then errors.throw("invalid", "no FROM instruction") end
  return globals, stages
end

local function short(id) return id:sub(1, 12) end

-- The base of a stage: state from an image, scratch or an earlier stage.
local function base_state(o, ref, done)
  local prev = done[ref:lower()] or (ref:match("^%d+$") and done[math.tointeger(tonumber(ref)) + 1])
  if prev then
    return { image = prev.image, config = require("ctr.image.config").copy(prev.config), key = prev.key, args = {} }
  end
  if ref == "scratch" then
    return { config = require("ctr.image.config").default(), key = layer.key("", "FROM scratch"), args = {} }
  end
  local image = require "ctr.image"
  local img = not o.pull and image.resolve(ref)
  if not img then
    if o.network == "none" then errors.throw("not_found", "FROM %s: no such image here, and no network to pull it", ref) end
    img = image.pull { ref = ref }
  end
  return { image = img, config = require("ctr.image.config").clean(img.config), key = layer.key("", "FROM " .. img.id),
    args = {} }
end

-- The env of a RUN: the config's Env plus the declared ARGs not set there.
local function run_env(st)
  local env, seen = {}, {}
  for _, e in ipairs(st.config.Env or {}) do
    env[#env + 1] = e
    seen[e:match("^([^=]+)") or e] = true
  end
  local names = {}
  for k in pairs(st.args) do if not seen[k] then names[#names + 1] = k end end
  table.sort(names)
  for _, k in ipairs(names) do env[#env + 1] = k .. "=" .. st.args[k] end
  return env
end

-- A filesystem step: the cached image for key, or make(st) -> image|nil.
local function fs_step(o, st, key, make)
  local hit = not o.no_cache and layer.lookup(key)
  if hit then
    o.say("--> Using cache " .. hit.id)
    st.image, st.key = hit, key
    return
  end
  local img = make(st)
  if img then
    layer.remember(key, img.id)
    st.image = img
  end
  st.key = key
end

local function abs_path(st, p)
  if p:sub(1, 1) == "/" then return p end
  local wd = st.config.WorkingDir ~= "" and st.config.WorkingDir or "/"
  return (wd:gsub("/$", "")) .. "/" .. p
end

-- The ADD sources that are URLs, downloaded into a temporary context dir.
local function fetch_urls(o, srcs, dir)
  local out = {}
  for i, s in ipairs(srcs) do
    if s:match("^https?://") then
      if o.network == "none" then errors.throw("invalid", "ADD %s: the build has no network", s) end
      local name = s:match("([^/?#]+)[?#]?[^/]*$") or ("download" .. i)
      if name == "." or name == ".." then name = "download" .. i end
      local res = require("ctr.http").perform({ { url = s, out_file = dir .. "/" .. name, follow = true } })
      local r = res and res[1]
      if not r or r.status ~= 200 then
        errors.throw("system", "ADD %s: download failed (%s)", s, r and (r.error or ("HTTP " .. r.status)) or "?")
      end
      out[#out + 1] = name
    else
      errors.throw("invalid", "ADD: cannot mix URLs and local sources (%s)", s)
    end
  end
  return out
end

-- Where a COPY/ADD reads from (co.context, co.ignore or co.from_layers);
-- returns the temporary dir of downloaded URLs (to remove) or nil.
local function copy_source(o, ins, vars, done, co, srcs)
  local tmpdir
  if ins.flags.from then
    local from = parse.words(ins.flags.from, vars, o.escape)
    local src = done[from:lower()] or (from:match("^%d+$") and done[math.tointeger(tonumber(from)) + 1])
    local img = src and src.image or (not src and require("ctr.image").resolve(from))
    if not img and not src and o.network ~= "none" and require("ctr.image").parse_ref(from) then
      local pok, pulled = pcall(require("ctr.image").pull, { ref = from }) -- as docker: an image not here is pulled
      img = pok and pulled or nil
    end
    if not img and not src then errors.throw("not_found", "%s --from=%s: no such stage or image", ins.cmd, from) end
    co.from_layers = layer.dirs(img)
  elseif ins.context_dir then
    co.context = ins.context_dir
  elseif co.add and srcs[1]:match("^https?://") then
    tmpdir = require("ctr.state").mktemp("buildurl")
    local ok, res = pcall(fetch_urls, o, srcs, tmpdir)
    if not ok then
      require("ctr.core").remove_all(tmpdir)
      require("ctr.state").release_temp(tmpdir)
      error(res, 0)
    end
    co.sources, co.context = res, tmpdir
  else
    co.context, co.ignore = o.context, o.ignore
  end
  return tmpdir
end

-- COPY/ADD
local function copy_step(o, st, ins, vars, done)
  local words = {}
  if ins.json then
    for i, w in ipairs(ins.json) do words[i] = parse.expand(w, vars) end
  else
    words = parse.words(ins.args, vars, o.escape, true)
  end
  local srcs = table.move(words, 1, #words - 1, 1, {})
  local dest = words[#words]
  local co = { what = ins.cmd, sources = srcs, dest = abs_path(st, dest), dest_dir = dest:sub(-1) == "/",
    add = ins.cmd == "ADD", layers = layer.dirs(st.image) }
  if ins.flags.chown then co.uid, co.gid = layer.chown(st.image, parse.words(ins.flags.chown, vars, o.escape)) end
  if ins.flags.chmod then
    co.chmod = ins.flags.chmod:match("^[0-7]+$") and #ins.flags.chmod <= 8 and tonumber(ins.flags.chmod, 8)
    if not co.chmod or co.chmod > 4095 then
      errors.throw("invalid", "%s --chmod: %q is not an octal mode within 0..7777", ins.cmd, ins.flags.chmod)
    end
  end
  local tmpdir = copy_source(o, ins, vars, done, co, srcs)
  if not co.context and not co.from_layers then errors.throw("invalid", "%s: no build context", ins.cmd) end
  local ok, err = pcall(function()
    local text = ins.cmd .. " " .. json.encode(ins.flags) .. " " .. json.encode(words)
    local key, hit
    if not o.no_cache then -- hash what would be copied; copy only on a miss
      co.dry = true
      key = layer.key(st.key, text, copy.stage(co).hash)
      co.dry = nil
      hit = layer.lookup(key)
    end
    if hit then
      o.say("--> Using cache " .. hit.id)
      st.image, st.key = hit, key
      return
    end
    local img = layer.with_layer(st, function(tmp)
      co.staging = tmp
      key = layer.key(st.key, text, copy.stage(co).hash)
      return true, key
    end, text)
    layer.remember(key, img.id)
    st.image, st.key = img, key
  end)
  if tmpdir then
    require("ctr.core").remove_all(tmpdir)
    require("ctr.state").release_temp(tmpdir)
  end
  if not ok then error(err, 0) end
end

local FS = { RUN = true, COPY = true, ADD = true, WORKDIR = true }

local function run_step(o, st, ins)
  local argv = steps.argv(st, ins)
  local net = ins.flags.network
  if net and net ~= "none" and net ~= "default" then
    errors.throw("invalid", "RUN --network=%s: only none and default are supported", net)
  end
  net = (net == "none" or o.network == "none") and "none" or o.network
  local env = run_env(st)
  local key = layer.key(st.key, "RUN " .. json.encode(argv), json.encode(env), st.config.User or "",
    st.config.WorkingDir or "", tostring(net))
  fs_step(o, st, key, function() return layer.run(st, argv, env, net, o.quiet, "RUN " .. ins.args) end)
end

local function workdir_step(o, st, ins, vars)
  local wd = abs_path(st, parse.words(ins.args, vars, o.escape))
  local clean = require("ctr.build.context").clean(wd)
  st.config.WorkingDir = "/" .. clean
  local key = layer.key(st.key, "WORKDIR " .. st.config.WorkingDir)
  fs_step(o, st, key, function()
    return layer.with_layer(st, function(tmp)
      return copy.workdir { staging = tmp, layers = layer.dirs(st.image), dest = st.config.WorkingDir }, key
    end, "WORKDIR " .. st.config.WorkingDir)
  end)
end

-- One instruction of a stage.
local function step(o, st, ins, done, gvals, used)
  local vars = steps.vars(st)
  if ins.cmd == "ARG" then
    st.key = layer.key(st.key, steps.arg(st, ins, vars, o.escape, o.build_args, gvals, used))
  elseif steps.META[ins.cmd] then
    st.key = layer.key(st.key, steps.META[ins.cmd](st, ins, vars, o.escape))
  elseif ins.cmd == "RUN" then
    run_step(o, st, ins)
  elseif ins.cmd == "COPY" or ins.cmd == "ADD" then
    copy_step(o, st, ins, vars, done)
  elseif ins.cmd == "WORKDIR" then
    workdir_step(o, st, ins, vars)
  else
    errors.throw("invalid", "%s is not supported here", ins.cmd)
  end
end

-- The index of the last stage to build.
local function last_stage(o, stages)
  if not o.target then return #stages end
  for i, sg in ipairs(stages) do
    if sg.name == o.target:lower() then return i end
  end
  errors.throw("invalid", "--target %s: no stage of that name", o.target)
end

-- Raise err as the failure of step n.
local function step_failed(err, ins, n, total)
  errors.rethrow_interrupt(err)
  local where = ins.file and (" (" .. ins.file .. ":" .. tostring(ins.line) .. ")") or ""
  errors.raise(errors.is(err, "invalid") and 125 or 1, "build: step %d/%d%s %s: %s", n, total, where,
    ins.cmd, errors.message(err))
end

-- Build stage sg (number i); returns its state.
local function build_stage(o, sg, done, gvals, used, pos)
  pos.n = pos.n + 1
  local from = parse.words(sg.image_ref, gvals, o.escape)
  o.say(("STEP %d/%d: FROM %s%s"):format(pos.n, pos.total, from, sg.name and (" AS " .. sg.name) or ""))
  local ok, st = pcall(base_state, o, from, done)
  if not ok then step_failed(st, sg.from, pos.n, pos.total) end
  for _, ins in ipairs(sg.list) do
    pos.n = pos.n + 1
    o.say(("STEP %d/%d: %s"):format(pos.n, pos.total, ins.text))
    local sok, err = pcall(step, o, st, ins, done, gvals, used)
    if not sok then step_failed(err, ins, pos.n, pos.total) end
    if FS[ins.cmd] and st.image then o.say("--> " .. short(st.image.id)) end
  end
  return st
end

--- Run the instructions (parsed, see ctr.build.parse) as a build. o:
-- { context = dir, ignore = compiled .dockerignore, build_args = map,
-- target = stage name, no_cache, pull, network ("none" or nil), quiet,
-- escape, say = function(line) }. Returns the final stage's state
-- { image =, config =, key = }. Raises (exit code 1, 125 for a bad
-- instruction) naming the step; a failed step leaves no container or layer.
function M.run(o, list)
  o.build_args = o.build_args or {}
  o.say = o.say or function(s)
    if not o.quiet then io.stdout:write(s, "\n"); io.stdout:flush() end
  end
  local globals, stages = stages_of(list)
  local gvals, used = {}, {}
  for _, ins in ipairs(globals) do
    local tmp = { args = gvals, config = { Env = {} } }
    local ok, err = pcall(steps.arg, tmp, ins, steps.vars(tmp), o.escape, o.build_args, nil, used)
    if not ok then step_failed(err, ins, 0, 0) end
  end
  local last = last_stage(o, stages)
  local pos = { n = 0, total = 0 }
  for i = 1, last do pos.total = pos.total + 1 + #stages[i].list end
  local done, st = {}, nil
  for i = 1, last do
    st = build_stage(o, stages[i], done, gvals, used, pos)
    done[i] = st
    if stages[i].name then done[stages[i].name] = st end
  end
  local unused = {}
  for k in pairs(o.build_args) do if not used[k] then unused[#unused + 1] = k end end
  table.sort(unused)
  if #unused > 0 and not o.quiet then
    io.stderr:write("[Warning] one or more build-args [", table.concat(unused, " "), "] were not consumed\n")
  end
  return st
end

M.short = short

return M
