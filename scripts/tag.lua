-- tag: Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
-- luac-ctr tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]
-- The target tag moves from any image that had it.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local image = require "ctr.image"

local _, args = cli.parse({ ... }, {},
  { usage = "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", description = "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", command = "tag" })
if #args ~= 2 then errors.raise(125, "\"tag\" requires exactly 2 arguments.\nSee 'luac-ctr tag --help'.") end

local name, err = image.parse_ref(args[2])
if not name then errors.raise(125, err) end
-- a refusal (no such image) exits 1, as docker's client does
errors.each({ args[1] }, function(src) image.tag(src, args[2]); return false end)
