-- rmi: Remove one or more images
-- luac-ctr rmi [-f] IMAGE...
-- By tag only that tag goes unless it is the last; by id the image goes.
-- Images used by a container are refused unless -f (then only untagged).
-- Layers no other image uses are deleted. Exit 1 if any image failed.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local image = require "ctr.image"

local _, args, o = cli.parse({ ... }, {
  { "f", "force", "flag", "Force removal of the image", key = "force" },
  { nil, "no-prune", "flag", "Accepted for compatibility" },
}, { usage = "rmi [OPTIONS] IMAGE [IMAGE...]", description = "Remove one or more images", command = "rmi" })
if #args < 1 then errors.raise(125, "\"rmi\" requires at least 1 argument.\nSee 'luac-ctr rmi --help'.") end

require("ctr.gc").auto() -- leftovers of killed commands, at most every 10 minutes
-- each image in turn; the lines of each removal ("Untagged: ...", "Deleted: ...")
errors.each(args, function(ref)
  local lines = image.remove(ref, o)
  return #lines > 0 and table.concat(lines, "\n") or false
end)
