-- rm: Remove one or more containers
--
-- luac-ctr rm [-f] [-v] CONTAINER...
-- Removes stopped containers: cgroup, network attachment and state
-- directory. A running container is refused (exit 1) unless -f, which kills
-- it first. -v removes the container's anonymous volumes too (named
-- volumes and bind mounts are never deleted). A removal that fails part way can be repeated; the
-- directory of a container whose creation a crash cut short goes by its id.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"

require("ctr.gc").auto() -- leftovers of killed commands, at most every 10 minutes
local o, args = cli.parse({ ... }, {
  { "f", "force", "flag", "Force the removal of a running container (uses SIGKILL)" },
  { "v", "volumes", "flag", "Remove anonymous volumes associated with the container" },
}, { usage = "rm [OPTIONS] CONTAINER [CONTAINER...]", description = "Remove one or more containers.", command = "rm" })
if #args < 1 then errors.raise(1, "\"rm\" requires at least 1 argument.\nSee 'luac-ctr rm --help'.") end
-- the containers first, then all removed at once (-f: the running ones are
-- killed together and waited for on their pidfds: container.remove_all)
local found, list, seen = {}, {}, {}
for i, ref in ipairs(args) do
  local c, gerr = container.get(ref)
  found[i] = c or gerr
  if c and not seen[c.id] then
    seen[c.id] = #list + 1
    list[#list + 1] = c
  elseif c then
    found[i] = false -- named twice: removed once, the second is no such container
  end
end
local results = container.remove_all(list, { force = o.force, volumes = o.volumes })
local i = 0
errors.each(args, function(ref)
  i = i + 1
  local c = found[i]
  if c == false then errors.raise(1, "no such container: %s", ref) end
  if type(c) == "table" and c.id then
    local r = results[seen[c.id]]
    if r ~= true then error(r, 0) end
    return
  end
  -- a container whose creation was cut short (crash) has no state: its id removes it
  local ok, e = pcall(container.remove_incomplete, ref)
  if not ok then error(errors.is(e, "not_found") and c or e, 0) end
end)
