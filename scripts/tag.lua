-- tag: Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
-- luac-ctr tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]
-- The target tag moves from any image that had it.
local cli = require "ctr.cli"
local image = require "ctr.image"
local util = require "ctr.util"

local ok, opts, args = pcall(cli.parse, util.script_args(...), {},
  { usage = "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", description = "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", command = "tag" })
if not ok then
  util.die(type(opts) == "table" and opts.msg or tostring(opts), type(opts) == "table" and opts.code or 125)
end
if #args ~= 2 then util.die('"tag" requires exactly 2 arguments.\nSee \'luac-ctr tag --help\'.', 125) end

local name, err = image.parse_ref(args[2])
if not name then util.die(err, 125) end
local ok2, res = pcall(image.tag, args[1], args[2])
if not ok2 then util.die(type(res) == "table" and res.msg or tostring(res), 1) end
