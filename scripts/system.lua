-- system: Manage luac-ctr
--
-- luac-ctr system prune [-a] [-f] [--volumes]
-- luac-ctr system df [-v] [--format TEMPLATE|json]
-- df: docker's table of the disk used by images, containers (their
-- writable layers), local volumes (when a volume store exists) and the
-- build cache (ctr.build.cache: the builds' intermediate images); -v the detailed tables; --format a template over
-- Type, TotalCount, Active, Size, Reclaimable, or json lines.
-- prune removes every stopped container (created, exited, and dead ones
-- whose cgroup holds no process), the networks no container uses (as
-- network prune), with --volumes the anonymous volumes no container uses
-- (as volume prune), dangling images (no tag, no container; with -a every
-- image no container uses) and build cache (dangling; -a all), then what
-- killed commands left behind
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
  df          Show docker disk usage
  prune       Remove unused data
]]

local WARNING = [[
WARNING! This will remove:
  - all stopped containers
  - all networks not used by at least one container
%s  - %s
  - %s
  - leftovers of interrupted commands (temporary files, incomplete containers, unreferenced layers)

Are you sure you want to continue? [y/N] ]]

local df -- system df (below)

local function confirm(all, volumes)
  if not core.isatty(0) then
    errors.raise(125, "system prune: refusing to prune without confirmation: standard input is not a terminal (use -f)")
  end
  io.stdout:write(WARNING:format(volumes and "  - all anonymous volumes not used by at least one container\n" or "",
    all and "all images without at least one container associated to them" or "all dangling images",
    all and "all build cache" or "unused build cache"))
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

-- Images no container uses: untagged ones (all: every one); of the build
-- cache the dangling entries (all: every one), unless a build is running.
local function prune_images(out, all)
  local image = require "ctr.image"
  local cache = require "ctr.build.cache"
  local lock = cache.exclusive()
  local imgs = image.list()
  local _, used = cache.entries(imgs)
  for _, img in ipairs(imgs) do
    local tags = img.repo_tags or {}
    if (all or #tags == 0) and cache.prunable(img, all, lock ~= nil, used) and #image.containers_using(img.id) == 0 then
      local ok, res = pcall(image.remove, img.id, { force = true })
      if ok then
        for _, line in ipairs(res) do out[#out + 1] = line end
      else
        errors.rethrow_interrupt(res)
        errors.report(res)
      end
    end
  end
  if lock then cache.sweep_keys(); lock:close() end
end

local function prune(argv)
  local o, args = cli.parse(argv, {
    { "a", "all", "flag", "Remove all unused images, not just dangling ones" },
    { "f", "force", "flag", "Do not prompt for confirmation" },
    { nil, "volumes", "flag", "Prune anonymous volumes" },
  }, { usage = "system prune [OPTIONS]", description = "Remove unused data.", command = "system prune" })
  if #args > 0 then errors.raise(125, "\"system prune\" accepts no arguments.\nSee 'luac-ctr system prune --help'.") end
  if not o.force then confirm(o.all, o.volumes) end
  local cs, imgs, vols = {}, {}, {}
  prune_containers(cs)
  local nets = require("ctr.network").prune()
  if o.volumes then vols = require("ctr.volume").prune() end
  prune_images(imgs, o.all)
  local report = require("ctr.gc").collect { wait = true, layers = true, grace = 0 }
  local w = io.stdout
  if #cs > 0 then w:write("Deleted Containers:\n", table.concat(cs, "\n"), "\n\n") end
  if #nets > 0 then w:write("Deleted Networks:\n", table.concat(nets, "\n"), "\n\n") end
  if #vols > 0 then w:write("Deleted Volumes:\n", table.concat(vols, "\n"), "\n\n") end
  if #imgs > 0 then w:write("Deleted Images:\n", table.concat(imgs, "\n"), "\n\n") end
  if #report.removed > 0 then w:write("Deleted leftovers:\n", table.concat(report.removed, "\n"), "\n\n") end
  for _, e in ipairs(report.errors) do io.stderr:write("luac-ctr: cannot remove ", e, "\n") end
  local function n(k, what) return ("%d %s%s"):format(k, what, k == 1 and "" or "s") end
  w:write(("Removed %s, %s, %s%s, %s\n"):format(n(#cs, "container"), n(#nets, "network"),
    o.volumes and (n(#vols, "volume") .. ", ") or "", n(#imgs, "image line"), n(#report.removed, "leftover")))
  if #report.errors > 0 then os.exit(1) end
end

-- ---- df ----------------------------------------------------------------------

-- docker's units.HumanSize: 4 significant digits, decimal units
local function hsize(n) return require("ctr.util").human_size(n, 4) end

-- docker's tabwriter (minwidth 10, padding 3; the last column unpadded)
local function table_text(rows)
  local w = {}
  for _, r in ipairs(rows) do
    for i = 1, #r - 1 do w[i] = math.max(w[i] or 10, (utf8.len(r[i]) or #r[i]) + 3) end
  end
  local out = {}
  for _, r in ipairs(rows) do
    local cells = {}
    for i, v in ipairs(r) do cells[i] = i < #r and v .. (" "):rep(w[i] - (utf8.len(v) or #v)) or v end
    out[#out + 1] = table.concat(cells) .. "\n"
  end
  return table.concat(out)
end

local function reclaim_text(u, pct)
  if pct and u.size > 0 then
    return ("%s (%d%%)"):format(hsize(u.reclaimable), math.floor(u.reclaimable * 100 / u.size))
  end
  return hsize(u.reclaimable)
end

local function df_summary(du)
  local t = { { Type = "Images", u = du.images, pct = true }, { Type = "Containers", u = du.containers, pct = true } }
  if du.volumes then t[#t + 1] = { Type = "Local Volumes", u = du.volumes, pct = true } end
  t[#t + 1] = { Type = "Build Cache", u = du.build_cache }
  local rows = {}
  for _, r in ipairs(t) do
    rows[#rows + 1] = { Type = r.Type, TotalCount = tostring(r.u.total), Active = tostring(r.u.active),
      Size = hsize(r.u.size), Reclaimable = reclaim_text(r.u, r.pct) }
  end
  return rows
end

-- docker's status column: "Up 5 minutes", "Exited (0) 2 seconds ago", "Created"
local function status_text(c)
  local util = require "ctr.util"
  local s, now = c:status(), util.now()
  if s == "running" then return "Up " .. util.human_duration(now - (c.state.started_at or now)) end
  if s == "exited" then
    local code = c:exit_code() or 0
    return ("Exited (%d) %s ago"):format(code, util.human_duration(now - (c.state.finished_at or now)))
  end
  return "Created"
end

local function df_verbose(du)
  local util = require "ctr.util"
  local w = io.stdout
  local rows = { { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS" } }
  for _, r in ipairs(du.images.rows) do
    local tags = r.image.repo_tags or {}
    for i = 1, math.max(#tags, 1) do
      local repo, tag = (tags[i] or "<none>:<none>"):match("^(.*):([^:/]*)$")
      rows[#rows + 1] = { repo or "<none>", tag or "<none>", util.short_id(r.image.id),
        util.time_ago(util.parse_rfc3339(r.image.created or "") or 0), hsize(r.size), hsize(r.shared),
        hsize(r.unique), tostring(r.containers) }
    end
  end
  w:write("Images space usage:\n\n", table_text(rows), "\n")
  rows = { { "CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES" } }
  for _, r in ipairs(du.containers.rows) do
    local st = r.container.state
    local cmd = table.concat(st.command or {}, " ")
    if (utf8.len(cmd) or #cmd) > 20 then cmd = cmd:sub(1, (utf8.offset(cmd, 20) or 20) - 1) .. "…" end
    local vols = 0
    for _, m in ipairs(st.mounts or st.volumes or {}) do if type(m) == "table" and (m.Type or m.type) == "volume" then vols = vols + 1 end end
    rows[#rows + 1] = { util.short_id(r.container.id), st.image or "", '"' .. cmd .. '"', tostring(vols), hsize(r.size),
      util.time_ago(st.created or 0), status_text(r.container), st.name or "" }
  end
  w:write("Containers space usage:\n\n", table_text(rows), "\n")
  if du.volumes then
    rows = { { "VOLUME NAME", "LINKS", "SIZE" } }
    for _, r in ipairs(du.volumes.rows) do rows[#rows + 1] = { r.name, tostring(r.links), hsize(r.size) } end
    w:write("Local Volumes space usage:\n\n", table_text(rows), "\n")
  end
  rows = { { "CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED" } }
  for _, r in ipairs(du.build_cache.rows) do
    local created = util.time_ago(util.parse_rfc3339(r.image.created or "") or 0)
    rows[#rows + 1] = { util.short_id(r.image.id), "regular", hsize(r.size), created, created, "1", tostring(r.used) }
  end
  w:write("Build cache usage: ", hsize(du.build_cache.size), "\n\n", table_text(rows))
end

local DF_FIELDS = { Type = true, TotalCount = true, Active = true, Size = true, Reclaimable = true }

function df(argv)
  local o, args = cli.parse(argv, {
    { "v", "verbose", "flag", "Show detailed information on space usage" },
    { nil, "format", "string", "Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'" },
  }, { usage = "system df [OPTIONS]", description = "Show docker disk usage.", command = "system df" })
  if #args > 0 then errors.raise(1, "\"system df\" accepts no arguments.\nSee 'luac-ctr system df --help'.") end
  local format = require "ctr.format"
  local f = o.format
  local tmpl = f and f ~= "table" and f ~= "json" and
    format.compile(f, { fields = DF_FIELDS, context = "*formatter.diskUsageImagesContext", table = true }) or nil
  local du = require("ctr.container").disk_usage()
  if o.verbose and not f then return df_verbose(du) end
  local rows = df_summary(du)
  local out = {}
  if f == "json" then
    local json = require "ctr.json"
    for _, r in ipairs(rows) do out[#out + 1] = json.encode(r) .. "\n" end
  elseif tmpl then
    for _, r in ipairs(rows) do out[#out + 1] = tmpl(r) .. "\n" end
  else
    local t = { { "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE" } }
    for _, r in ipairs(rows) do t[#t + 1] = { r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable } end
    out[1] = table_text(t)
  end
  io.stdout:write(table.concat(out))
end

local argv = { ... }
local sub = table.remove(argv, 1)
cli.group_help(sub, USAGE)
if sub == "df" then return df(argv) end
if sub ~= "prune" then errors.raise(125, "unknown system command %q\n%s", sub, USAGE) end
prune(argv)
