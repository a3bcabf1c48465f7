-- system: Manage luac-ctr
--
-- luac-ctr system prune [-a] [-f]
-- Removes every stopped container (created, exited, and dead ones whose
-- cgroup holds no process), dangling images (no tag, no container; with -a
-- every image no container uses), then what killed commands left behind
-- (ctr.gc: <root>/tmp work in progress nobody holds, incomplete containers,
-- layers no image references). Asks for confirmation on a terminal; -f
-- skips it; without a terminal and without -f it refuses (exit 125).
local cli = require "ctr.cli"
local core = require "ctr.core"
local errors = require "ctr.errors"

local USAGE = [[
Usage:  luac-ctr system COMMAND

Manage luac-ctr

Commands:
  prune       Remove unused data
]]

local WARNING = [[
WARNING! This will remove:
  - all stopped containers
  - %s
  - leftovers of interrupted commands (temporary files, incomplete containers, unreferenced layers)

Are you sure you want to continue? [y/N] ]]

local function confirm(all)
  if not core.isatty(0) then
    errors.raise(125, "system prune: refusing to prune without confirmation: standard input is not a terminal (use -f)")
  end
  io.stdout:write(WARNING:format(all and "all images without at least one container associated to them"
    or "all dangling images"))
  io.stdout:flush()
  local answer = io.stdin:read("l")
  if not answer or not answer:match("^%s*[yY]") then errors.raise(1, "system prune: cancelled") end
end

local function prune_containers(out)
  local container = require "ctr.container"
  for _, c in ipairs(container.list()) do
    local s = c:status()
    if s ~= "running" and not (c.dead and #(c.pids or {}) > 0) then
      local ok, err = pcall(c.remove, c, { force = false })
      if ok then out[#out + 1] = c.id
      else errors.report(err) end
    end
  end
end

local function prune_images(out, all)
  local image = require "ctr.image"
  for _, img in ipairs(image.list()) do
    local tags = img.repo_tags or {}
    if (all or #tags == 0) and #image.containers_using(img.id) == 0 then
      local ok, res = pcall(image.remove, img.id, { force = true })
      if ok then
        for _, line in ipairs(res) do out[#out + 1] = line end
      else
        errors.report(res)
      end
    end
  end
end

local function prune(argv)
  local o, args = cli.parse(argv, {
    { "a", "all", "flag", "Remove all unused images, not just dangling ones" },
    { "f", "force", "flag", "Do not prompt for confirmation" },
  }, { usage = "system prune [OPTIONS]", description = "Remove unused data.", command = "system prune" })
  if #args > 0 then errors.raise(125, "\"system prune\" accepts no arguments.\nSee 'luac-ctr system prune --help'.") end
  if not o.force then confirm(o.all) end
  local cs, imgs = {}, {}
  prune_containers(cs)
  prune_images(imgs, o.all)
  local report = require("ctr.gc").collect { wait = true, layers = true, grace = 0 }
  local w = io.stdout
  if #cs > 0 then w:write("Deleted Containers:\n", table.concat(cs, "\n"), "\n\n") end
  if #imgs > 0 then w:write("Deleted Images:\n", table.concat(imgs, "\n"), "\n\n") end
  if #report.removed > 0 then w:write("Deleted leftovers:\n", table.concat(report.removed, "\n"), "\n\n") end
  for _, e in ipairs(report.errors) do io.stderr:write("luac-ctr: cannot remove ", e, "\n") end
  w:write(("Removed %d container%s, %d image line%s, %d leftover%s\n"):format(
    #cs, #cs == 1 and "" or "s", #imgs, #imgs == 1 and "" or "s", #report.removed, #report.removed == 1 and "" or "s"))
  if #report.errors > 0 then os.exit(1) end
end

local argv = { ... }
local sub = table.remove(argv, 1)
if sub == nil or sub == "--help" or sub == "-h" or sub == "help" then
  io.stdout:write(USAGE)
  os.exit(sub == nil and 1 or 0)
end
if sub ~= "prune" then errors.raise(125, "unknown system command %q\n%s", sub, USAGE) end
prune(argv)
