--- examples/build.lua: a "Dockerfile" written as a Lua table.
--
--   luac-ctr examples/build.lua [--tag NAME:TAG] [--context DIR]
--   luac-ctr run --rm hello-lua:1          # then run what was built
--
-- The recipe below starts a container from its base image (kept alive with
-- `sleep`, no network), runs each step in it with exec (RUN steps see the
-- ENV and WORKDIR set so far), copies files in by feeding them to
-- `cat > DEST` on the command's stdin (COPY from the context directory,
-- default: this script's directory; WRITE for inline text), then stops the
-- container and commits it to a tagged image with the collected CMD / ENV /
-- WORKDIR changes. The build container is removed whatever happens.
--
-- Shows: Container:exec{argv=, env=, cwd=, stdin=, capture=},
-- Container:commit{ref = "name:tag", change = {...}}, pipes from ctr.core.
local cli = require "ctr.cli"
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local container = require "ctr.container"

local recipe = {
  from = "busybox",
  tag = "hello-lua:1",
  steps = {
    { run = "mkdir -p /app" },
    { write = "/app/hello.sh", mode = "755", content = [[
#!/bin/sh
echo "$GREETING (workdir $(pwd), recipe $(wc -l < recipe.lua) lines)"
]] },
    { copy = "build.lua", to = "/app/recipe.lua" },
    { env = "GREETING=hello from a Lua-built image" },
    { workdir = "/app" },
    { run = "./hello.sh > /app/built.txt" },
    { cmd = { "/app/hello.sh" } },
  },
}

-- stdin for a command: a pipe holding text (small files: < 64 KiB).
local function text_fd(text)
  if #text >= 65536 then errors.raise(1, "build: inline content over 64 KiB") end
  local r, w = assert(core.pipe())
  assert(core.write(w, text))
  w:close()
  return r
end

local function exec(c, argv, env, cwd, stdin)
  local r = c:exec { argv = argv, env = env, cwd = cwd, stdin = stdin, capture = true }
  io.write(r.stdout)
  if r.exit_code ~= 0 then
    errors.raise(1, "build: step %s failed with exit code %d: %s", argv[#argv], r.exit_code, r.stderr)
  end
end

local function put(c, dest, stdin, mode, env, cwd)
  local script = 'mkdir -p "$(dirname "$1")" && cat > "$1"' .. (mode and ' && chmod "$2" "$1"' or "")
  exec(c, { "sh", "-c", script, "sh", dest, mode }, env, cwd, stdin)
end

local function describe(s)
  if s.run then return "RUN " .. s.run end
  if s.write then return "WRITE " .. s.write end
  if s.copy then return "COPY " .. s.copy .. " " .. s.to end
  if s.env then return "ENV " .. s.env end
  if s.workdir then return "WORKDIR " .. s.workdir end
  if s.cmd then return "CMD " .. json.encode(json.array(s.cmd)) end
  return "?"
end

--- Build recipe in a container; returns the image table.
local function build(r, context)
  local c = container.run {
    image = r.from, cmd = { "sleep", "3600" }, network = "none", detach = true,
  }
  local ok, img = pcall(function()
    local env, cwd, changes = {}, "/", {}
    for i, s in ipairs(r.steps) do
      io.write(("step %d/%d: %s\n"):format(i, #r.steps, describe(s)))
      if s.run then
        exec(c, { "sh", "-c", s.run }, env, cwd)
      elseif s.write then
        put(c, s.write, text_fd(s.content), s.mode, env, cwd)
      elseif s.copy then
        local fd, err = core.open(context .. "/" .. s.copy, "rdonly")
        if not fd then errors.raise(1, "build: copy %s: %s", s.copy, err) end
        put(c, s.to, fd, s.mode, env, cwd)
        fd:close()
      elseif s.env then
        env[#env + 1] = s.env
        changes[#changes + 1] = "ENV " .. s.env
      elseif s.workdir then
        cwd = s.workdir
        changes[#changes + 1] = "WORKDIR " .. s.workdir
      elseif s.cmd then
        changes[#changes + 1] = "CMD " .. json.encode(json.array(s.cmd))
      else
        errors.raise(1, "build: step %d: unknown instruction", i)
      end
    end
    c:kill("KILL")
    c:wait()
    return c:commit { ref = r.tag, change = changes, message = "built by examples/build.lua" }
  end)
  pcall(c.remove, c, { force = true })
  if not ok then error(img, 0) end
  return img
end

errors.main(function(...)
  local o = cli.parse({ ... }, {
    { "t", "tag", "string", "Name and tag of the image (default " .. recipe.tag .. ")" },
    { nil, "context", "string", "Directory COPY reads from (default: this script's)" },
  }, { usage = "examples/build.lua [--tag NAME:TAG] [--context DIR]" })
  recipe.tag = o.tag or recipe.tag
  local here = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")) or "."
  local img = build(recipe, o.context or here)
  io.write(("built %s (%s)\n"):format(recipe.tag, img.id))
end, ...)
