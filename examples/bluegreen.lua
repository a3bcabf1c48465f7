--- examples/bluegreen.lua: a blue/green deploy behind a published port.
--
--   luac-ctr examples/bluegreen.lua [--port P] [--app NAME] [--keep]
--
-- Version 1 of a web app (busybox httpd serving "v1") runs with port P of
-- 127.0.0.1 published to it. Version 2 starts beside it, unpublished, and is
-- probed from inside (wget in its own container) until it answers; then the
-- port is switched (v1:unpublish, v2:publish), the page is fetched through
-- 127.0.0.1:P, and v1 is removed. The containers carry the labels app=NAME
-- and version=vN, by which container.list finds them. With --keep, v2 is
-- left running; otherwise (and on any error) the app's containers are
-- removed at the end. Traffic goes to the host's loopback only (the host's
-- wget fetches the page).
--
-- Shows: labels, container.list{label=}, Container:publish / unpublish,
-- Container:exec{cmd=, capture=, timeout=} as a probe.
local cli = require "ctr.cli"
local core = require "ctr.core"
local container = require "ctr.container"
local errors = require "ctr.errors"
io.stdout:setvbuf("line") -- progress shows as it happens, through a pipe too

local PAGE = 'mkdir -p /www && echo "$1" > /www/index.html && exec httpd -f -p 80 -h /www'

local function deploy(app, version)
  local c = container.run {
    image = "busybox", name = app .. "-" .. version, detach = true,
    labels = { app = app, version = version }, cmd = { "sh", "-c", PAGE, "sh", version },
  }
  return c
end

-- fn() every 50 ms until it returns a value; errors.throw after secs.
local function retry(secs, what, fn)
  local deadline = core.clock("monotonic") + secs
  repeat
    local v = fn()
    if v then return v end
    core.sleep(0.05)
  until core.clock("monotonic") > deadline
  errors.throw("timeout", "%s: no answer after %gs", what, secs)
end

-- The page as the container itself serves it (nil while it does not answer;
-- a Ctrl-C is not a failed probe: it goes on up).
local function probe(c)
  local ok, r = pcall(c.exec, c, { cmd = { "wget", "-q", "-O", "-", "http://127.0.0.1/" }, capture = true, timeout = 2 })
  if not ok and errors.is(r, "interrupted") then error(r, 0) end
  return ok and r.exit_code == 0 and r.stdout:gsub("\n$", "") or nil
end

-- The page through the published port on the host's loopback.
local function fetch(port)
  local p = io.popen(("wget -q -O - -T 1 -t 1 http://127.0.0.1:%d/ 2>/dev/null"):format(port))
  local s = p:read("a")
  p:close()
  return s ~= "" and s:gsub("\n$", "") or nil
end

local function remove_app(app)
  for _, c in ipairs(container.list { label = "app=" .. app }) do c:remove { force = true } end
end

local function deploy_v2(app, port)
  local spec = ("127.0.0.1:%d:80"):format(port)
  local v1 = deploy(app, "v1")
  v1:publish(spec)
  print("v1 live: " .. retry(5, "v1", function() return fetch(port) end))
  local v2 = deploy(app, "v2")
  print("v2 probed: " .. retry(5, "v2", function() return probe(v2) end))
  v1:unpublish(spec)
  v2:publish(spec)
  print("switched: " .. retry(5, "the switched port", function() return fetch(port) end))
  v1:remove { force = true }
  for _, c in ipairs(container.list { label = "app=" .. app }) do
    print(("%s version=%s %s"):format(c:name(), c:labels().version, c:status()))
  end
end

local o = cli.parse({ ... }, {
  { nil, "port", "int", "The host port on 127.0.0.1 (default 18080)" },
  { nil, "app", "string", "The app's name and label (default web)" },
  { nil, "keep", "flag", "Leave v2 running" },
}, { usage = "examples/bluegreen.lua [OPTIONS]" })
local app = o.app or "web"
remove_app(app) -- what an earlier run left
local ok, err = pcall(deploy_v2, app, o.port or 18080)
if not ok or not o.keep then remove_app(app) end
if not ok then error(err, 0) end
