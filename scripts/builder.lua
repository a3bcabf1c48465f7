-- builder: Manage the build cache
--
-- luac-ctr builder prune [-a] [-f]
-- The build cache is the builds' intermediate images and their step keys
-- (see ctr.build.cache). prune removes the dangling entries (those no
-- built image descends from); -a every entry (the layers of the images
-- still there stay). While a build runs, its cache is left alone. Asks for
-- confirmation on a terminal; -f skips it; without a terminal and without
-- -f it refuses (exit 125), as system prune does.
local cli = require "ctr.cli"
local core = require "ctr.core"
local errors = require "ctr.errors"

local USAGE = [[
Usage:  luac-ctr builder COMMAND

Manage builds

Commands:
  prune       Remove build cache
]]

-- docker's units.HumanSize: 4 significant digits, decimal units
local function hsize(n) return require("ctr.util").human_size(n, 4) end

local function prune(argv)
  local o, args = cli.parse(argv, {
    { "a", "all", "flag", "Remove all unused build cache, not just dangling ones" },
    { "f", "force", "flag", "Do not prompt for confirmation" },
  }, { usage = "builder prune [OPTIONS]", description = "Remove build cache", command = "builder prune" })
  if #args > 0 then errors.raise(125, "\"builder prune\" accepts no arguments.\nSee 'luac-ctr builder prune --help'.") end
  if not o.force then
    if not core.isatty(0) then
      errors.raise(125, "builder prune: refusing to prune without confirmation: standard input is not a terminal (use -f)")
    end
    io.stdout:write(o.all and "WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] "
      or "WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] ")
    io.stdout:flush()
    local answer = io.stdin:read("l")
    if not answer or not answer:match("^%s*[yY]") then errors.raise(1, "builder prune: cancelled") end
  end
  local res = require("ctr.build.cache").prune { all = o.all }
  if res.busy then
    io.stderr:write("luac-ctr: builder prune: a build is running: its cache was left alone\n")
  end
  if #res.deleted > 0 then
    io.stdout:write("Deleted build cache objects:\n", table.concat(res.deleted, "\n"), "\n\n")
  end
  io.stdout:write("Total reclaimed space: ", hsize(res.reclaimed), "\n")
end

local argv = { ... }
local sub = table.remove(argv, 1)
cli.group_help(sub, USAGE)
if sub ~= "prune" then errors.raise(125, "unknown builder command %q\n%s", sub, USAGE) end
prune(argv)
