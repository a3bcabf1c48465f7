-- image: Manage images (ls, inspect, rm, tag, import)
--
-- luac-ctr image ls [OPTIONS]              = images
-- luac-ctr image inspect IMAGE...          JSON array of image records
-- luac-ctr image rm [-f] IMAGE...          = rmi
-- luac-ctr image tag SOURCE TARGET         = tag
-- luac-ctr image import TARBALL [REF]      = import
-- luac-ctr image pull|push|save|load ...    = pull, push, save, load
-- luac-ctr image prune [-a]                 remove unused images, layers, blobs
local errors = require "ctr.errors"

local aliases = { ls = "images", list = "images", rm = "rmi", remove = "rmi", tag = "tag", import = "import",
  pull = "pull", push = "push", save = "save", load = "load" }

local function usage()
  io.stdout:write("Usage:  luac-ctr image COMMAND\n\nManage images\n\nCommands:\n",
    "  import      Import the contents from a tarball to create a filesystem image\n",
    "  inspect     Display detailed information on one or more images\n",
    "  load        Load an image from a tar archive or STDIN\n",
    "  ls          List images\n",
    "  prune       Remove unused images\n",
    "  pull        Download an image from a registry\n",
    "  push        Upload an image to a registry\n",
    "  rm          Remove one or more images\n",
    "  save        Save one or more images to a tar archive\n",
    "  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE\n")
end

-- Run a sibling workflow script with the given arguments.
local function run_script(name, args)
  local dir = require("ctr.launcher").scripts_dir
  local chunk, err = loadfile(dir .. "/" .. name .. ".lua")
  if not chunk then errors.raise(125, "cannot load the %s workflow: %s", name, err) end
  _G.arg = { [0] = dir .. "/" .. name .. ".lua", table.unpack(args) }
  return chunk(table.unpack(args))
end

local function inspect(args)
  local cli = require "ctr.cli"
  local json = require "ctr.json"
  local image = require "ctr.image"
  local o, refs = cli.parse(args, {
    { "f", "format", "string", "Format the output using a Go template ('{{.Id}}', '{{json .Config.Cmd}}') or json" },
  }, { usage = "image inspect [OPTIONS] IMAGE [IMAGE...]", command = "image inspect" })
  if #refs < 1 then errors.raise(1, "\"image inspect\" requires at least 1 argument.") end
  local out, failed = json.array({}), false
  for _, ref in ipairs(refs) do
    local img, err = image.inspect(ref)
    if img then out[#out + 1] = img else
      failed = true
      errors.report(err or ("no such image: " .. ref))
    end
  end
  if o.format and o.format ~= "json" then
    local expand = require("ctr.format").compile(o.format, { missing = "error" }) -- as inspect's
    for _, v in ipairs(out) do io.stdout:write(expand(v), "\n") end
  else
    io.stdout:write(json.encode(out, { indent = true }), "\n")
  end
  if failed then os.exit(1) end
end

local sub = ...
if sub == nil or sub == "--help" or sub == "-h" or sub == "help" then
  usage()
  if sub == nil then os.exit(1) end
elseif sub == "inspect" then
  inspect({ select(2, ...) })
elseif sub == "prune" then
  local flag = select(2, ...)
  local all = flag == "-a" or flag == "--all"
  local ids, n = require("ctr.image").prune { all = all }
  for _, id in ipairs(ids) do print("Deleted: sha256:" .. id) end
  print(("Total reclaimed: %d images, %d layers and blobs"):format(#ids, n))
elseif aliases[sub] then
  run_script(aliases[sub], { select(2, ...) })
else
  errors.raise(1, "unknown image command %q\nSee 'luac-ctr image --help'.", sub)
end
