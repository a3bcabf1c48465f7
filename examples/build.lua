--- examples/build.lua: an image built with ctr.build, the Lua form of a
-- Containerfile: the steps are a Lua list, so the build loops over files,
-- branches and writes inline files.
--
--   luac-ctr examples/build.lua [--tag NAME:TAG] [--context DIR]
--   luac-ctr build -f examples/build.lua -t hello-lua:1 examples   # the same through `build`
--   luac-ctr run --rm hello-lua:1                                  # then run what was built
--
-- Each step prints docker's plain progress; a step whose parent, text and
-- inputs did not change is taken from the build cache ("--> Using cache").
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local build = require "ctr.build"
local run, copy, write, env, workdir, cmd = build.run, build.copy, build.write, build.env, build.workdir, build.cmd

local function recipe(tag, context)
  local steps = {
    run "mkdir -p /app",
    write("/app/hello.sh", [[
#!/bin/sh
echo "$GREETING (workdir $(pwd), recipe $(wc -l < recipe.lua) lines, $(ls /app/extra | wc -l) extra files)"
]], "755"),
    copy("build.lua", "/app/recipe.lua"),
  }
  for i = 1, 3 do -- what a Containerfile cannot say: a loop
    steps[#steps + 1] = write("/app/extra/" .. i .. ".txt", ("file %d\n"):format(i))
  end
  steps[#steps + 1] = env { GREETING = "hello from a Lua-built image" }
  steps[#steps + 1] = workdir "/app"
  steps[#steps + 1] = run "./hello.sh > /app/built.txt"
  steps[#steps + 1] = cmd { "/app/hello.sh" }
  return { from = "busybox", tag = tag, context = context, steps = steps }
end

errors.main(function(...)
  local here = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")) or "."
  if build.defaults.context then -- run by `luac-ctr build -f examples/build.lua ... CONTEXT`
    build(recipe(nil, build.defaults.context))
    return
  end
  local o = cli.parse({ ... }, {
    { "t", "tag", "string", "Name and tag of the image (default hello-lua:1)" },
    { nil, "context", "string", "Directory COPY reads from (default: this script's)" },
  }, { usage = "examples/build.lua [--tag NAME:TAG] [--context DIR]" })
  local img = build(recipe(o.tag or "hello-lua:1", o.context or here))
  io.write(("built %s (%s)\n"):format(o.tag or "hello-lua:1", img.id))
end, ...)
