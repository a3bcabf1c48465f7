-- Dead containers and the garbage collector (#root), issue 17 part B: a
-- lost or truncated state.json, a killed `run -d`, a killed import or an
-- rmi that could not finish: ps -a lists every container directory, rm -f
-- frees everything the container held (found from the kernel and the
-- network records), and the GC / `system prune` removes what killed
-- commands left, never what a live command holds.
local U = require "spec_util"
local core = require "ctr.core"
local json = require "ctr.json"
local _ -- what multiple assignments throw away (not a global)

local root

local function ctr(...) return U.ctr(root, { ... }) end

local function rund(...)
  local out, err, code = ctr("run", "-d", ...)
  assert.are.equal(0, code, err)
  return (out:gsub("%s+$", ""))
end

local function read_json(path) return json.decode(assert(core.read_file(path))) end

local function gone(pid)
  return U.wait_for(function() local s = core.proc_state(pid); return s == nil or s == "Z" end, 10)
end

local function ps_ids()
  local ids = {}
  for id in ctr("ps", "-a", "-q", "--no-trunc"):gmatch("%x+") do ids[id] = true end
  return ids
end

-- The firewall's published-port elements of the container at ip (nftables
-- keys them by address and port: "... : <ip> . 80").
local function port_rule(ip)
  local rs = require("ctr.network").ruleset()
  return rs:match(": " .. ip:gsub("%.", "%%.") .. " %. 80[^\n,}]*")
end

-- The entries of a network's directory (ctr.network.store) that are
-- container id's: its attachment file, addresses that link to it.
local function net_entries(name, id)
  local d, t = root .. "/networks/" .. name .. ".d", {}
  for _, f in ipairs(core.readdir(d) or {}) do
    if f:find(id, 1, true) or core.readlink(d .. "/" .. f) == id then t[#t + 1] = f end
  end
  return t
end

local function sh_ok(cmd) local _, _, code = U.sh(cmd); return code == 0 end

describe("dead containers #root", function()
  U.per_test_root(function(r) root = r end)

  -- a running container with an address, a veth and a published port (a
  -- firewall element with its address), whose state.json is then truncated
  local function broken_container(name, port)
    local id = rund("--name", name, "-p", "127.0.0.1:" .. port .. ":80", "busybox", "sleep", "300")
    local st = read_json(root .. "/containers/" .. id .. "/state.json")
    local att = assert(st.network.attachment, "the default network gave the container an address")
    assert.is_true(sh_ok("ip link show dev " .. U.q(att.veth_host)))
    assert.is_truthy(port_rule(att.ip), "no published-port element for the container's address")
    assert(io.open(root .. "/containers/" .. id .. "/state.json", "w")):close() -- truncated
    return id, st.pid, att
  end

  local function assert_freed(id, pid, att)
    assert.is_truthy(gone(pid), "the container's process was killed")
    assert.same({}, U.cgroup_dirs(id))
    assert.is_false(sh_ok("ip link show dev " .. U.q(att.veth_host)))
    assert.is_nil(port_rule(att.ip), "a published-port element of the container is left")
    local net = core.read_file(root .. "/networks/" .. att.network .. ".json")
    assert.is_nil(net:find(id, 1, true), "the address allocation is left")
    assert.same({}, net_entries(att.network, id), "the address allocation or attachment is left")
    assert.is_false(core.exists(root .. "/containers/" .. id))
  end

  it("a truncated state.json: ps -a shows Dead with the reason; inspect, logs, rm -f by name and id prefix work", function()
    local id1, pid1, att1 = broken_container("web1", 18081)
    local id2, pid2, att2 = broken_container("web2", 18082)
    local ok_id = rund("--name", "fine", "--network", "none", "busybox", "sleep", "300")
    local rows = {}
    for line in ctr("ps", "-a", "--format", "json"):gmatch("[^\n]+") do
      local r = json.decode(line)
      rows[r.Names] = r
    end
    assert.are.equal("Dead", rows.web1 and rows.web1.Status)
    assert.are.equal("dead", rows.web2.State)
    assert.matches("unreadable state", rows.web1.Reason)
    assert.are.equal("running", rows.fine.State)
    assert.is_nil(ctr("ps"):find("web1", 1, true)) -- not running: only with -a
    local out, err, code = ctr("inspect", "-f", "{{.State.Status}} {{.State.Dead}} {{.State.Pid}}", "web1")
    assert.are.equal(0, code, err)
    assert.are.equal("dead true " .. pid1 .. "\n", out)
    _, err, code = ctr("logs", id2:sub(1, 10))
    assert.are.equal(0, code, err)
    -- rm -f by name, and by id prefix
    out, err, code = ctr("rm", "-f", "web1")
    assert.are.equal(0, code, err)
    assert_freed(id1, pid1, att1)
    out, err, code = ctr("rm", "-f", id2:sub(1, 8))
    assert.are.equal(0, code, err)
    assert_freed(id2, pid2, att2)
    assert.are.same({ [ok_id] = true }, ps_ids())
    -- the freed address is free again
    local id3 = rund("--name", "heir", "--ip", att1.ip, "busybox", "true")
    assert.are.equal(att1.ip, read_json(root .. "/containers/" .. id3 .. "/state.json").network.ip)
  end)

  it("a directory left by a killed run -d (only .config.json.tmp-*) is listed and removed by id prefix", function()
    local id = ("%064x"):format(0xdead)
    local dir = root .. "/containers/" .. id
    assert(core.mkdir(root .. "/containers", 448) or core.exists(root .. "/containers"))
    assert(core.mkdir(dir, 448))
    assert(core.write_file_atomic(dir .. "/.config.json.tmp-AbCdEf", "{\"oci", 384))
    local line = ctr("ps", "-a", "--format", "json", "--filter", "status=dead")
    local r = json.decode(line)
    assert.are.equal(id:sub(1, 12), r.ID)
    assert.matches("incomplete", r.Reason)
    local out, err, code = ctr("inspect", "-f", "{{.State.Error}}", id:sub(1, 12))
    assert.are.equal(0, code, err)
    assert.matches("incomplete", out)
    _, err, code = ctr("rm", "-f", id:sub(1, 12))
    assert.are.equal(0, code, err)
    assert.is_false(core.exists(dir))
  end)

  it("run -d killed with SIGKILL 10-60 ms in: ps -a lists every directory left, rm -f $(ps -aq) cleans all", function()
    rund("--name", "warm", "--network", "none", "busybox", "true") -- the busybox image exists
    local _, err, code = ctr("rm", "-f", "warm")
    assert.are.equal(0, code, err)
    local tries = tonumber(os.getenv("LUAC_CTR_KILL_TRIES") or "15")
    for i = 1, tries do
      local delay = (10 + (core.getrandom(1):byte() % 51)) / 1000
      U.sh(("LUAC_CTR_ROOT=%s %s run -d --name k%d busybox sleep 300 >/dev/null & p=$!; sleep %.3f; kill -9 $p; wait $p")
        :format(U.q(root), U.q(U.launcher), i, delay))
    end
    local listed = ps_ids()
    local ids = U.container_ids(root)
    for _, id in ipairs(ids) do assert.is_true(listed[id] == true, "ps -a does not list " .. id) end
    local out
    out, err, code = U.sh(("LUAC_CTR_ROOT=%s; export LUAC_CTR_ROOT; ids=$(%s ps -aq); [ -z \"$ids\" ] || %s rm -f $ids")
      :format(U.q(root), U.q(U.launcher), U.q(U.launcher)))
    assert.are.equal(0, code, err .. out)
    assert.same({}, U.container_ids(root))
    for _, id in ipairs(ids) do assert.same({}, U.cgroup_dirs(id)) end
    local net = core.read_file(root .. "/networks/bridge.json")
    if net then
      local n = json.decode(net)
      assert.is_nil(next(n.allocated or {}), "an address allocation is left")
      assert.is_nil(next(n.attachments or {}), "an attachment is left")
    end
    for _, id in ipairs(ids) do assert.same({}, net_entries("bridge", id), "an address or attachment is left") end
    assert.is_false(sh_ok("ip -o link show | grep -q ' vlc'"), "a veth is left")
  end)
end)

describe("garbage collector and system prune #root", function()
  U.per_test_root(function(r) root = r end)

  -- `import -` reading from a pipe we hold: it stays in the middle of its
  -- work (tmp/stdin-*) until we close the pipe
  local function slow_import(tag)
    local pidfile = os.tmpname()
    local outfile = os.tmpname()
    local w = assert(io.popen(("LUAC_CTR_ROOT=%s sh -c 'echo $$ >%s; exec %s import - %s' >%s 2>&1")
      :format(U.q(root), U.q(pidfile), U.q(U.launcher), tag, U.q(outfile)), "w"))
    local pid = U.wait_for(function()
      local s = core.read_file(pidfile); return s and tonumber(s:match("%d+"))
    end, 10)
    local tmp = U.wait_for(function()
      for _, n in ipairs(core.readdir(root .. "/tmp") or {}) do
        if n:match("^stdin%-%w+$") then return root .. "/tmp/" .. n end
      end
    end, 10)
    os.remove(pidfile)
    return w, pid, tmp, outfile
  end

  local function tarball()
    local dir = U.tmproot()
    U.sh(("mkdir %s/src && echo hello >%s/src/f && tar -C %s/src -cf %s/a.tar ."):format(dir, dir, dir, dir))
    local data = assert(core.read_file(dir .. "/a.tar"))
    U.cleanup(dir)
    return data
  end

  it("a live import's tmp dir survives a concurrent GC; a killed one's goes with system prune and gc.auto", function()
    local data = tarball()
    -- live: system prune runs while it is in the middle of its work
    local w, _, live_tmp, outfile = slow_import("live:1")
    w:write(data:sub(1, 100)); w:flush()
    local out, err, code = ctr("system", "prune", "-f")
    assert.are.equal(0, code, err)
    assert.is_true(core.exists(live_tmp), "system prune removed a live import's work: " .. out)
    w:write(data:sub(101)); w:close()
    assert.matches("^sha256:%x+\n$", core.read_file(outfile)) -- docker's form
    os.remove(outfile)
    assert.matches("live%s+1", ctr("images"))
    assert.is_false(core.exists(live_tmp))
    -- killed mid-way: its work is left, then collected
    local w2, pid2, dead_tmp, outfile2 = slow_import("dead:1")
    w2:write(data:sub(1, 100)); w2:flush()
    assert(core.kill(pid2, 9))
    assert.is_truthy(gone(pid2))
    pcall(w2.close, w2)
    os.remove(outfile2)
    assert.is_true(core.exists(dead_tmp))
    local state, gc = require "ctr.state", require "ctr.gc"
    local interval = gc.INTERVAL
    gc.INTERVAL = 0 -- as if the last collection was long ago
    state.set_root(root)
    local ok, report = pcall(gc.auto)
    state.set_root(nil)
    gc.INTERVAL = interval
    assert.is_true(ok, tostring(report))
    assert.is_false(core.exists(dead_tmp), "gc.auto left a killed import's work")
    assert.is_false(core.exists(root .. "/locks/tmp-" .. dead_tmp:match("[^/]+$") .. ".lock"))
    -- the same with system prune, for an import-* extraction left by a kill
    local left = root .. "/tmp/import-Xy12Zw"
    assert(core.mkdir(left, 493))
    assert(core.write_file_atomic(left .. "/big", ("x"):rep(4096), 420))
    assert(core.write_file_atomic(root .. "/locks/tmp-import-Xy12Zw.lock", "", 384))
    out, err, code = ctr("system", "prune", "-f")
    assert.are.equal(0, code, err)
    assert.is_false(core.exists(left))
    assert.is_false(core.exists(root .. "/locks/tmp-import-Xy12Zw.lock"))
    assert.same({}, core.readdir(root .. "/tmp"))
    assert.matches("live%s+1", ctr("images")) -- tagged: not dangling
  end)

  it("rmi leftovers (deleted-*), unreferenced layers and stopped containers go with system prune; it asks first", function()
    local keep = rund("--name", "up", "--network", "none", "busybox", "sleep", "300")
    local stopped = rund("--name", "down", "--network", "none", "busybox", "true")
    ctr("wait", "down")
    local trash = root .. "/tmp/deleted-" .. ("%064x"):format(1)
    assert(core.mkdir(trash, 493))
    assert(core.write_file_atomic(trash .. "/f", "data", 420))
    local orphan = root .. "/layers/" .. ("%064x"):format(2)
    assert(core.mkdir(orphan, 493))
    local layers_before = #core.readdir(root .. "/layers")
    -- no terminal, no -f: refused, nothing removed
    local _, err, code = ctr("system", "prune")
    assert.are.equal(125, code)
    assert.matches("confirmation", err)
    assert.is_true(core.exists(trash))
    local out
    out, err, code = ctr("system", "prune", "-f")
    assert.are.equal(0, code, err)
    assert.is_false(core.exists(trash))
    assert.is_false(core.exists(orphan))
    assert.are.equal(layers_before - 1, #core.readdir(root .. "/layers")) -- busybox's layer stays
    assert.is_false(core.exists(root .. "/containers/" .. stopped))
    assert.matches(stopped, out)
    assert.are.same({ [keep] = true }, ps_ids())
    assert.matches("busybox", ctr("images"))
    out, err, code = ctr("run", "--rm", "--network", "none", "busybox", "true")
    assert.are.equal(0, code, err)
  end)
end)
