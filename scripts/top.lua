-- top: Display the running processes of a container
--
-- luac-ctr top CONTAINER [ps OPTIONS | DESCRIPTOR...]
-- The processes of the container's cgroup as the host's ps shows them (ps
-- -ef by default: UID PID PPID C STIME TTY TIME CMD), in docker's table. A
-- container with a user namespace gets a CUID column (its own uid of each
-- process) after UID. podman's descriptors instead of ps options (user,
-- ruser, huser, group, rgroup, hgroup, pid, hpid, ppid, args, comm, state;
-- AIX codes %U %p ...; comma lists too) give those columns, read from
-- /proc: `top C user huser pid hpid args` shows the container's user and
-- pid beside the host's. Not running, or no PID column: one line, exit 1.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"

local _, args = cli.parse({ ... }, {}, { usage = "top CONTAINER [ps OPTIONS | DESCRIPTOR...]",
  description = "Display the running processes of a container.", command = "top", stop_at_positional = true })
if #args < 1 then errors.raise(1, "\"top\" requires at least 1 argument.\nSee 'luac-ctr top --help'.") end
local ps_args = {}
for i = 2, #args do ps_args[#ps_args + 1] = args[i] end
local t = container.must_get(args[1], 1):top(ps_args)

-- docker's tabwriter (minwidth 20, padding 3): every column but the last
local rows = { t.titles }
for _, p in ipairs(t.processes) do rows[#rows + 1] = p end
local width = {}
for _, r in ipairs(rows) do
  for i = 1, #r - 1 do width[i] = math.max(width[i] or 20, (utf8.len(r[i]) or #r[i]) + 3) end
end
local out = {}
for _, r in ipairs(rows) do
  local cells = {}
  for i, v in ipairs(r) do
    cells[i] = i < #r and (v .. string.rep(" ", width[i] - (utf8.len(v) or #v))) or v
  end
  out[#out + 1] = table.concat(cells) .. "\n"
end
io.stdout:write(table.concat(out))
