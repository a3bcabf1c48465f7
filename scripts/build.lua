-- build: Build an image from a Containerfile (or a Lua build)
--
-- luac-ctr build [-t NAME:TAG]... [-f FILE] [--build-arg K=V]... [--target STAGE] [--no-cache] [--pull]
--                [--label K=V]... [-q] [--progress auto|plain|tty] [--network none] CONTEXT
-- FILE defaults to CONTEXT/Containerfile, else CONTEXT/Dockerfile. A FILE
-- ending in .lua is a Lua build (see ctr.build): it runs with the command
-- line's options as ctr.build.defaults and CONTEXT as its context (and as
-- its `...`). The progress is docker's plain one (STEP n/m: ..., --> Using
-- cache, the steps' output, COMMIT, --> id), or on a terminal (--progress
-- auto, the default, or tty) a live view of the current step and its last
-- lines with a summary of the steps' times; -q prints only the image id.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local build = require "ctr.build"

local o, args = cli.parse({ ... }, {
  { "t", "tag", "list", "Name and optionally a tag (name:tag) of the image (repeats)" },
  { "f", "file", "string", "The Containerfile (default CONTEXT/Containerfile, else CONTEXT/Dockerfile), or a .lua build" },
  { nil, "build-arg", "map", "Set a build-time variable (repeats)" },
  { nil, "target", "string", "The stage to build (the last one by default)" },
  { nil, "no-cache", "flag", "Do not use the cache" },
  { nil, "pull", "flag", "Always pull the FROM images" },
  { nil, "label", "map", "Set a label on the image (repeats)" },
  { "q", "quiet", "flag", "Print only the image id" },
  { nil, "progress", "string", "auto (tty on a terminal, else plain), plain (docker's lines) or tty (a live view)" },
  { nil, "network", "string", "none: no network for RUN and ADD URLs (default: the default network)" },
}, { usage = "build [OPTIONS] CONTEXT", description = "Build an image from a Containerfile", command = "build" })
if #args ~= 1 then errors.raise(125, "\"build\" requires exactly 1 argument.\nSee 'luac-ctr build --help'.") end
if o.progress and o.progress ~= "plain" and o.progress ~= "tty" and o.progress ~= "auto" then
  errors.raise(125, "build: --progress must be auto, plain or tty, got %q", o.progress)
end
if o.network and o.network ~= "none" and o.network ~= "default" then
  errors.raise(125, "build: --network must be none or default, got %q", o.network)
end
for _, t in ipairs(o.tag or {}) do
  local name, err = require("ctr.image").parse_ref(t)
  if not name then errors.raise(125, "build: invalid tag %q: %s", t, err) end
end
-- a bare --build-arg NAME takes NAME's value from the environment (unset: not given)
local argv = { ... }
for i, a in ipairs(argv) do
  local name = a == "--build-arg" and argv[i + 1] or a:match("^%-%-build%-arg=(.*)$")
  if name and not name:find("=", 1, true) then o.build_arg[name] = os.getenv(name) end
end
local opts = {
  context = args[1], tags = o.tag, build_args = o.build_arg, target = o.target, no_cache = o.no_cache,
  pull = o.pull, labels = o.label, quiet = o.quiet, network = o.network == "none" and "none" or nil,
  progress = o.progress or "auto",
}
if o.file and o.file:match("%.lua$") then
  for k, v in pairs(opts) do build.defaults[k] = v end
  local chunk, err = loadfile(o.file)
  if not chunk then errors.raise(125, "build: %s", err) end
  chunk(args[1])
else
  opts.file = o.file
  build.file(opts)
end
