--- ctr.build: images built from a Containerfile, or from steps written in
-- Lua (the same engine, ctr.build.engine).
--
--   local build = require "ctr.build"
--   local run, copy, env, workdir, cmd = build.run, build.copy, build.env, build.workdir, build.cmd
--   local img = build {                          -- build.build{...}
--     from = "busybox", tag = "hello:1", context = ".",
--     steps = {
--       run "mkdir -p /app",
--       copy("hello.sh", "/app/", { chmod = "755" }),
--       env { GREETING = "hi" },
--       workdir "/app",
--       cmd { "/app/hello.sh" },
--     },
--   }
--   build.file { file = "Containerfile", context = ".", tags = { "web:1" } }
--
-- A step is a table made by a constructor (or a Containerfile line given
-- as a string: `"EXPOSE 80"`); the steps list is plain Lua, so a build can
-- loop, branch, read files and call the rest of the API while making it.
-- `from` may be an image built just before (multi-stage: copy{from = img}).
-- build.parallel runs several builds at once (a process each).
-- Each build prints docker's plain progress (`STEP 2/5: RUN ...`,
-- `--> Using cache <id>`, the step's output, `COMMIT`, `--> <id>`) unless
-- quiet (progress = "tty": a live view, ctr.build.progress; "auto": that
-- on a terminal), and returns the image table.
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local state = require "ctr.state"

local M = {}

--- Options that a build not given them takes (set by `luac-ctr build -f
-- x.lua` from its command line: tags, build_args, no_cache, pull, quiet,
-- labels, context).
M.defaults = {}

local function ins(cmd, args, extra)
  local t = { cmd = cmd, args = args or "", flags = {}, text = cmd .. " " .. (args or "") }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

local function argv_of(v, what)
  if type(v) == "string" then return nil, v end
  if type(v) ~= "table" then errors.throw("invalid", "build.%s: a string or a list expected", what) end
  return json.array(v), json.encode(json.array(v))
end

--- RUN step: cmd a shell command (string) or an argv list; opts.network
-- ("none").
function M.run(cmd, opts)
  local list, text = argv_of(cmd, "run")
  return ins("RUN", text, { json = list, flags = { network = opts and opts.network } })
end

--- COPY step: src (a path of the context, or a list of them) to dest;
-- opts: from (an image table, id or reference, or a stage), chown, chmod
-- ("755").
function M.copy(src, dest, opts)
  opts = opts or {}
  local srcs = type(src) == "table" and src or { src }
  local from = opts.from
  if type(from) == "table" then from = from.id end
  local words = json.array({ table.unpack(srcs) })
  words[#words + 1] = dest
  return ins("COPY", json.encode(words), { json = words, flags = { from = from, chown = opts.chown,
    chmod = opts.chmod } })
end

--- ADD step: as copy, and a local tarball is unpacked, a URL downloaded.
function M.add(src, dest, opts)
  local t = M.copy(src, dest, opts)
  t.cmd, t.flags.from = "ADD", nil
  t.text = "ADD " .. t.args
  return t
end

--- A step that writes content (a string) as the file dest (mode: "644").
function M.write(dest, content, mode)
  return ins("WRITE", dest, { content = content, mode = mode or "644" })
end

local function kv_step(cmd, t)
  if type(t) == "string" then return ins(cmd, t) end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. json.encode(tostring(t[k])) end
  return ins(cmd, table.concat(parts, " "))
end

--- ENV step: a map {NAME = value} or "NAME=value".
function M.env(t) return kv_step("ENV", t) end
--- LABEL step: a map {key = value} or "key=value".
function M.label(t) return kv_step("LABEL", t) end
--- WORKDIR step.
function M.workdir(dir) return ins("WORKDIR", dir) end
--- USER step.
function M.user(u) return ins("USER", u) end
--- EXPOSE step: a port ("80/tcp") or a list of them.
function M.expose(p) return ins("EXPOSE", type(p) == "table" and table.concat(p, " ") or tostring(p)) end
--- VOLUME step: a path or a list.
function M.volume(p) return ins("VOLUME", type(p) == "table" and json.encode(json.array(p)) or p,
  { json = type(p) == "table" and json.array(p) or nil }) end
--- CMD step: an argv list (exec form) or a string (shell form).
function M.cmd(c) local l, t = argv_of(c, "cmd"); return ins("CMD", t, { json = l }) end
--- ENTRYPOINT step: an argv list or a string.
function M.entrypoint(c) local l, t = argv_of(c, "entrypoint"); return ins("ENTRYPOINT", t, { json = l }) end
--- STOPSIGNAL step.
function M.stopsignal(s) return ins("STOPSIGNAL", s) end
--- SHELL step: an argv list.
function M.shell(l) return ins("SHELL", json.encode(json.array(l)), { json = json.array(l) }) end

-- A step given as a string: one Containerfile line.
local function step_of(s, i)
  if type(s) == "string" then
    local df = require("ctr.build.parse").parse("FROM scratch\n" .. s, "step " .. i)
    return df.instructions[2]
  end
  if type(s) ~= "table" or not s.cmd then errors.throw("invalid", "build: step %d is not a step", i) end
  return s
end

-- WRITE steps become COPY from a temporary context holding the content.
local function lower_writes(list, tmp)
  for i, s in ipairs(list) do
    if s.cmd == "WRITE" then
      local name = "w" .. i
      local ok, err = core.write_file_atomic(tmp .. "/" .. name, s.content, 420)
      if not ok then errors.throw("system", "build: cannot stage %s: %s", s.args, err) end
      list[i] = ins("COPY", json.encode({ name, s.args }), { json = json.array({ name, s.args }),
        flags = { chmod = s.mode }, context_dir = tmp })
      list[i].text = "WRITE " .. s.args
    end
  end
end

local function with_defaults(o, what)
  o = require("ctr.check").api(what, o or {})
  local t = {}
  for k, v in pairs(M.defaults) do t[k] = v end
  for k, v in pairs(o or {}) do t[k] = v end
  if t.tag then t.tags = { t.tag } end
  return t
end

-- Tag and print the result of the final stage st.
local function finish(o, st)
  local layer = require "ctr.build.layer"
  local cfg = require("ctr.image.config").copy(st.config)
  if o.labels and next(o.labels) then
    cfg.Labels = json.object(cfg.Labels or {})
    for k, v in pairs(o.labels) do cfg.Labels[k] = v end
  end
  local key = layer.key(st.key, "COMMIT", json.encode(json.object(o.labels or {})))
  local tags = o.tags or {}
  o.say("COMMIT " .. (tags[1] or ""))
  local img = not o.no_cache and layer.lookup(key)
  if not img then
    img = layer.register(st.image, nil, cfg, nil, { parent = st.image and st.image.id or nil,
      comment = "built by luac-ctr build" })
    layer.remember(key, img.id)
  end
  for _, t in ipairs(tags) do
    local name, tag = require("ctr.image").parse_ref(t)
    local has = false
    for _, x in ipairs(img.repo_tags or {}) do has = has or x == name .. ":" .. tag end
    if not has then img = require("ctr.image").tag(img.id, t) end -- (a cached image may have it already)
  end
  o.say("--> " .. img.id:sub(1, 12))
  for _, t in ipairs(tags) do
    local name, tag = require("ctr.image").parse_ref(t)
    o.say("Successfully tagged " .. name .. ":" .. tag)
  end
  return img
end

-- The file name of the directory dir, resolved inside dir (a symlink never
-- leads out of it): its text, or nil when there is none. Raises 125 when
-- it cannot be read (not a regular file, over 4 MiB): a .dockerignore is
-- never silently skipped.
local function read_inside(dir, name)
  local text, err, errno = core.read_in_root(dir, name)
  if text then return text end
  if errno == core.errno.ENOENT or errno == core.errno.ENOTDIR then return nil end
  errors.raise(125, "build: cannot read %s/%s: %s", dir, name, err)
end

-- The engine on a list of instructions, then finish.
local function build_list(o, list)
  local engine = require "ctr.build.engine"
  local hold = require("ctr.build.cache").hold() -- no prune takes our cache from under us
  local tmp = state.mktemp("buildwrite")
  local ok, res = pcall(function()
    lower_writes(list, tmp)
    local cst = o.context and core.stat(o.context)
    if o.context and (not cst or cst.type ~= "dir") then
      errors.raise(125, "build: the context %s is not a directory", o.context)
    end
    if o.context and not o.ignore then
      o.ignore = require("ctr.build.context").ignore_patterns(read_inside(o.context, ".dockerignore") or "")
    end
    local view = require("ctr.build.progress").mode(o.progress, o.quiet) == "tty" and
      require("ctr.build.progress").start()
    if view then o.say = view.say end
    local vok, st = pcall(function() return finish(o, engine.run(o, list)) end)
    if view then view.finish(vok) end
    if not vok then error(st, 0) end
    return st
  end)
  core.remove_all(tmp)
  state.release_temp(tmp)
  hold:close()
  if not ok then error(res, 0) end
  if o.quiet then io.stdout:write("sha256:", res.id, "\n") end
  return res
end

--- Build an image from Lua steps. o: { from = image reference, id, image
-- table or "scratch", steps = {step, ...}, tag = "name:tag" | tags = {...},
-- context = dir (COPY/ADD sources; default "."), build_args = map (for
-- ARG steps), labels = map, no_cache, pull, quiet, network ("none": no
-- network for RUN and ADD URLs) }. Returns the image table; raises naming
-- the failed step (nothing of it left behind).
function M.build(o)
  o = with_defaults(o, "build.build")
  local from = o.from or "scratch"
  if type(from) == "table" then from = from.id end
  local list = { ins("FROM", from) }
  list[1].text = "FROM " .. from
  for i, s in ipairs(o.steps or {}) do list[#list + 1] = step_of(s, i) end
  o.context = o.context or "."
  return build_list(o, list)
end

--- Build an image from a Containerfile. o: { file = path (default
-- context/Containerfile, else context/Dockerfile) | text = its content,
-- context = dir, tags = {...}, build_args = map, target = stage, labels,
-- no_cache, pull, quiet, network }. FILE.dockerignore, when there is one,
-- is used instead of context/.dockerignore. Returns the image table.
function M.file(o)
  o = with_defaults(o, "build.file")
  o.context = o.context or "."
  local path, text = o.file, o.text
  if not path and not text then -- the context's, read inside it (never through a symlink out)
    for _, name in ipairs({ "Containerfile", "Dockerfile" }) do
      path = o.context .. "/" .. name
      text = read_inside(o.context, name)
      if text then break end
    end
    if not text then errors.raise(125, "build: cannot read %s: no such file in the context", path) end
  end
  if not text then
    local err
    text, err = core.read_file(path)
    if not text then errors.raise(125, "build: cannot read %s: %s", path, err) end
  end
  local ok, df = pcall(require("ctr.build.parse").parse, text, path or "Containerfile")
  if not ok then errors.raise(125, "build: %s", errors.message(df)) end
  o.escape = df.escape
  -- buildkit's FILE.dockerignore first, read inside FILE's directory
  local dir = path and (path:match("^(.*)/") or ".")
  local own_ignore = path and read_inside(dir == "" and "/" or dir, path:match("[^/]*$") .. ".dockerignore")
  if own_ignore then o.ignore = require("ctr.build.context").ignore_patterns(own_ignore) end
  for _, n in ipairs(df.notes) do io.stderr:write(n, "\n") end
  return build_list(o, df.instructions)
end

--- Run several builds at once, each in its own process: list of option
-- tables for build.build (or build.file when they have `file` or `text`).
-- Returns the image tables in order; raises when one failed (after all ended).
function M.parallel(list)
  local procs = {}
  for i, o in ipairs(list) do
    local r, w = core.pipe()
    io.stdout:flush()
    local pid = core.fork()
    if pid == 0 then
      r:close()
      if o.progress == nil and M.defaults.progress then o.progress = "plain" end -- (one view per terminal)
      local ok, img = pcall((o.file or o.text) and M.file or M.build, o)
      core.write(w, ok and ("ok " .. img.id) or ("err " .. errors.message(img)))
      core._exit(ok and 0 or 1)
    end
    w:close()
    procs[i] = { pid = pid, r = r }
  end
  local out, failed = {}, nil
  for i, p in ipairs(procs) do
    local msg = core.read(p.r, 65536) or ""
    p.r:close()
    core.waitpid(p.pid)
    local id = msg:match("^ok (%x+)")
    if id then out[i] = require("ctr.image").resolve(id)
    else failed = failed or ("build " .. i .. ": " .. (msg:match("^err (.*)") or "died")) end
  end
  if failed then errors.raise(1, "%s", failed) end
  return out
end

return setmetatable(M, { __call = function(_, o) return M.build(o) end })
