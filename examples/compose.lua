--- examples/compose.lua: a compose-like multi-container app described as a Lua table.
--
--   luac-ctr examples/compose.lua up     make the app's network, start "web" (busybox
--                                        httpd serving a page) and run "client", which
--                                        fetches http://web/ by name and prints it
--   luac-ctr examples/compose.lua ps     the app's containers: status, exit code, address
--   luac-ctr examples/compose.lua down   remove the containers and the network
--   options: --project NAME (default demo; prefixes every name), --page TEXT
--
-- Every service joins the app's own bridge network (ctr.network.create) with
-- its service name as hostname, so the others reach it by that name.
-- Services with `detach` keep running; `setup` commands are then exec'd in
-- them (here: writing index.html); the others run in the foreground, their
-- output going to ours, and `up` fails when one of them fails.
--
-- Shows: ctr.network.create/get/remove, container.run{network=, hostname=,
-- detach=}, Container:exec{capture=}, container.get (nil, err for lookups),
-- and errors.main turning raised errors into exit codes.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local util = require "ctr.util"
local container = require "ctr.container"
local network = require "ctr.network"

-- The app: what docker-compose.yml would say.
local function app(project, page)
  return {
    project = project,
    network = project .. "-net",
    services = {
      { name = "web", image = "busybox", detach = true,
        cmd = { "sh", "-c", "mkdir -p /www && exec httpd -f -p 80 -h /www" },
        setup = { { "sh", "-c", 'mkdir -p /www && printf "%s\\n" "$1" > /www/index.html', "sh", page } } },
      { name = "client", image = "busybox",
        cmd = { "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://web/ && exit 0; sleep 0.3; done; exit 1" } },
    },
  }
end

local function cname(a, svc) return a.project .. "_" .. svc.name end

local function up(a)
  if not network.get(a.network) then network.create { name = a.network } end
  for _, svc in ipairs(a.services) do
    local old = container.get(cname(a, svc))
    if old then old:remove { force = true } end -- up again: start afresh
    local res = container.run {
      image = svc.image, cmd = svc.cmd, name = cname(a, svc), hostname = svc.name,
      network = a.network, detach = svc.detach,
    }
    if svc.detach then -- res is the container
      for _, argv in ipairs(svc.setup or {}) do
        local r = res:exec { argv = argv, capture = true }
        if r.exit_code ~= 0 then
          errors.raise(1, "%s: setup %s failed (%d): %s", svc.name, argv[1], r.exit_code, r.stderr)
        end
      end
    elseif res.exit_code ~= 0 then
      errors.raise(1, "%s exited with %d", svc.name, res.exit_code)
    end
  end
end

local function ps(a)
  local rows = { { "SERVICE", "CONTAINER", "STATUS", "EXIT", "ADDRESS" } }
  for _, svc in ipairs(a.services) do
    local c = container.get(cname(a, svc))
    if c then
      local att = c.state.network and c.state.network.attachment
      rows[#rows + 1] = { svc.name, c:name(), c:status(), tostring(c:exit_code() or ""), att and att.ip or "" }
    end
  end
  io.write(util.columns(rows))
end

local function down(a)
  for i = #a.services, 1, -1 do
    local c = container.get(cname(a, a.services[i]))
    if c then c:stop { timeout = 2 }; c:remove { force = true } end
  end
  if network.get(a.network) then network.remove(a.network) end
end

errors.main(function(...)
  local o, args = cli.parse({ ... }, {
    { nil, "project", "string", "Project name, the prefix of every name (default demo)" },
    { nil, "page", "string", "The page web serves (default: Hello from web)" },
  }, { usage = "examples/compose.lua [OPTIONS] up|ps|down" })
  local cmds = { up = up, ps = ps, down = down }
  local cmd = cmds[args[1] or ""]
  if not cmd or #args ~= 1 then errors.raise(125, "usage: examples/compose.lua [--project NAME] up|ps|down") end
  cmd(app(o.project or "demo", o.page or "Hello from web"))
end, ...)
