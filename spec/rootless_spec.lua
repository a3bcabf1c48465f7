-- rootless (#root, to make the user): an unprivileged user that the spec
-- creates (useradd, /etc/subuid and /etc/subgid entries, XDG_RUNTIME_DIR set
-- by hand, no loginctl) runs containers with state under
-- $XDG_DATA_HOME/luac-ctr; what does not work rootless is one line, 125.
local U = require "spec_util"
local json = require "ctr.json"

local NAME = "lctrrl" .. tostring(os.time() % 100000)
local SUB = 520000 -- the user's subordinate ids
local uid, home, runtime

local tun_mode -- /dev/net/tun's mode before the spec (restored)
local VETH = "lctrrlv0" -- in the spec's own network namespace: pasta copies a routable interface

-- Run a command (argv) as the user, with its environment.
local function user_cmd(argv)
  local parts = { "setpriv", "--reuid", tostring(uid), "--regid", tostring(uid), "--clear-groups", "env", "-i",
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" .. U.q(home), "XDG_DATA_HOME=" .. U.q(home .. "/.local/share"),
    "XDG_RUNTIME_DIR=" .. U.q(runtime) }
  for _, a in ipairs(argv) do parts[#parts + 1] = U.q(a) end
  return U.sh("cd / && " .. table.concat(parts, " "))
end

-- Run the launcher as the user.
local function as_user(args)
  return user_cmd({ U.launcher, table.unpack(args) })
end

-- The pids of the user's processes named name.
local function user_pids(name)
  local out = U.sh("pgrep -u " .. uid .. " -x " .. U.q(name) .. " || true")
  local t = {}
  for p in out:gmatch("%d+") do t[#t + 1] = p end
  return t
end

-- /etc/subuid or /etc/subgid without the spec user's lines (kept atomically).
local function drop_lines(path)
  local f = io.open(path); if not f then return end
  local keep = {}
  for line in f:lines() do if line:sub(1, #NAME + 1) ~= NAME .. ":" then keep[#keep + 1] = line .. "\n" end end
  f:close()
  assert(require("ctr.core").write_file_atomic(path, table.concat(keep), 420))
end

describe("rootless #root", function()
  setup(function()
    assert(os.execute("useradd -m -s /bin/sh " .. NAME))
    uid = math.tointeger(tonumber((U.sh("id -u " .. NAME))))
    home = (U.sh("getent passwd " .. NAME)):match("^[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:([^:]*):")
    for _, p in ipairs({ "/etc/subuid", "/etc/subgid" }) do
      drop_lines(p) -- useradd may have added a range of its own
      local f = assert(io.open(p, "a")); f:write(("%s:%d:65536\n"):format(NAME, SUB)); f:close()
    end
    runtime = "/tmp/" .. NAME .. "-run"
    assert(os.execute("mkdir -p " .. runtime .. " && chown " .. uid .. " " .. runtime .. " && chmod 700 " .. runtime))
    -- pasta needs /dev/net/tun usable by the user (Debian's default 0666; 0600 on this machine) and a
    -- routable interface to copy (the spec's network namespace has only lo: a veth pair of its own)
    tun_mode = (U.sh("stat -c %a /dev/net/tun")):match("%d+")
    assert(os.execute("chmod 0666 /dev/net/tun"))
    if (U.sh("ip route show default")) == "" then
      assert(os.execute("ip link add " .. VETH .. " type veth peer name " .. VETH .. "p && ip addr add 10.231.0.1/24 dev "
        .. VETH .. " && ip link set " .. VETH .. "p up && ip link set " .. VETH .. " up && ip route add default via 10.231.0.254"))
    end
  end)

  teardown(function()
    if home then
      for _, id in ipairs(U.container_ids(home .. "/.local/share/luac-ctr")) do as_user({ "rm", "-f", id }) end
    end
    os.execute("userdel -r " .. NAME .. " 2>/dev/null; rm -rf " .. runtime)
    if tun_mode then os.execute("chmod " .. tun_mode .. " /dev/net/tun") end
    os.execute("ip link del " .. VETH .. " 2>/dev/null")
    drop_lines("/etc/subuid"); drop_lines("/etc/subgid")
  end)

  it("runs a container: root inside is the user outside, the rest its subordinate ids", function()
    local out, err, code = as_user({ "run", "--rm", "busybox", "echo", "ok" })
    assert.are.equal(0, code, err)
    assert.are.equal("ok\n", out)
    out, err, code = as_user({ "run", "--rm", "busybox", "sh", "-c",
      "id -u; cat /proc/self/uid_map; touch /f && chown 1000 /f && stat -c %u /f" })
    assert.are.equal(0, code, err)
    assert.matches("^0\n%s*0%s+" .. uid .. "%s+1\n%s*1%s+" .. SUB .. "%s+65535\n1000\n$", out)
    -- a volume: what the container's root writes is the user's
    out, err, code = as_user({ "run", "--rm", "-v", home .. "/vol:/v", "busybox", "sh", "-c", "echo hi > /v/f && echo ok" })
    assert.are.equal(0, code, err)
    assert.are.equal("ok\n", out)
    assert.are.equal(uid .. "\n", (U.sh("stat -c %u " .. U.q(home .. "/vol/f"))))
    assert.same({}, U.container_ids(home .. "/.local/share/luac-ctr"))
  end)

  it("run -d, exec, logs, ps, stop, rm, leaving nothing behind", function()
    local _, err, code = as_user({ "run", "-d", "--name", "bg", "busybox", "sh", "-c", "echo hello; sleep 60" })
    assert.are.equal(0, code, err)
    local out
    out, err, code = as_user({ "inspect", "bg" })
    assert.are.equal(0, code, err)
    local pid = json.decode(out)[1].State.Pid
    assert.are.equal(uid, U.host_uid(pid))
    out, err, code = as_user({ "exec", "bg", "sh", "-c", "id -u; mkdir /x && chown 33:33 /x && touch /x/y" })
    assert.are.equal(0, code, err)
    assert.are.equal("0\n", out)
    assert.are.equal("hello\n", U.wait_for(function()
      local o = as_user({ "logs", "bg" }); return o ~= "" and o end, 5))
    assert.matches("bg\n", (as_user({ "ps", "--format", "{{.Names}}" })))
    _, err, code = as_user({ "stop", "-t", "1", "bg" })
    assert.are.equal(0, code, err)
    -- the files the container made as its uid 33 are not the user's: rm removes them all the same
    _, err, code = as_user({ "rm", "bg" })
    assert.are.equal(0, code, err)
    assert.same({}, U.container_ids(home .. "/.local/share/luac-ctr"))
    assert.are.equal("", (U.sh("ls " .. U.q(home .. "/.local/share/luac-ctr/tmp"))))
  end)

  it("has pasta's network by default; -p publishes on the host's loopback; pasta ends with the container", function()
    local out, err, code = as_user({ "run", "--rm", "busybox", "sh", "-c",
      "ip -o -4 addr show | grep -v ' lo ' | wc -l; ip route | grep -c ^default" })
    assert.are.equal(0, code, err)
    assert.are.equal("1\n1\n", out)
    local _
    _, err, code = as_user({ "run", "-d", "--name", "web", "-p", "18080:80", "busybox", "sh", "-c",
      "mkdir -p /www && echo hello-rootless > /www/index.html && exec httpd -f -p 80 -h /www" })
    assert.are.equal(0, code, err)
    local pasta = user_pids("passt.avx2")
    if #pasta == 0 then pasta = user_pids("pasta") end
    assert.are.equal(1, #pasta)
    out = U.wait_for(function()
      local o = user_cmd({ "curl", "-s", "--max-time", "2", "http://127.0.0.1:18080/" }); return o ~= "" and o end, 10)
    assert.are.equal("hello-rootless\n", out)
    _, err, code = as_user({ "stop", "-t", "1", "web" })
    assert.are.equal(0, code, err)
    assert.is_false(U.sh("test -d /proc/" .. pasta[1] .. " && echo yes || echo no") == "yes\n")
    _, _, code = user_cmd({ "curl", "-s", "--max-time", "2", "http://127.0.0.1:18080/" })
    assert.are_not.equal(0, code)
    -- a start publishes again, with a pasta of its own; rm -f of the running container ends it too
    _, err, code = as_user({ "start", "web" })
    assert.are.equal(0, code, err)
    assert.are.equal("hello-rootless\n", U.wait_for(function()
      local o = user_cmd({ "curl", "-s", "--max-time", "2", "http://127.0.0.1:18080/" }); return o ~= "" and o end, 10))
    _, err, code = as_user({ "rm", "-f", "web" })
    assert.are.equal(0, code, err)
    assert.same({}, user_pids("passt.avx2")); assert.same({}, user_pids("pasta"))
    assert.same({}, U.container_ids(home .. "/.local/share/luac-ctr"))
  end)

  it("pulls from a registry on loopback and commits, as the user; the results run", function()
    local tmp = home .. "/reg" -- root's: the layout, the registry's storage
    local function ok(cmd) local o, e, c = U.sh(cmd); assert(c == 0, cmd .. ": " .. e); return o end
    local L, b1, b2 = U.q(tmp .. "/lay"), U.q(tmp .. "/b1"), U.q(tmp .. "/b2")
    ok("mkdir -p " .. U.q(tmp) .. " && umoci init --layout " .. L .. " && umoci new --image " .. L .. ":base")
    ok("umoci unpack --image " .. L .. ":base " .. b1 .. " >/dev/null && cd " .. b1 .. "/rootfs && mkdir -p bin etc d www"
      .. " && cp /bin/busybox bin/ && ln -s busybox bin/sh && echo gone > etc/deleted && echo old > d/old"
      .. " && echo w > www/f && chown -R 33:33 www && cd / && umoci repack --image " .. L .. ":v1 " .. b1)
    ok("umoci unpack --image " .. L .. ":v1 " .. b2 .. " >/dev/null && rm " .. b2 .. "/rootfs/etc/deleted && rm -rf "
      .. b2 .. "/rootfs/d && mkdir " .. b2 .. "/rootfs/d && echo new > " .. b2 .. "/rootfs/d/new && umoci repack --image "
      .. L .. ":v2 " .. b2)
    local pid, port
    for _ = 1, 5 do
      port = math.random(20000, 60000)
      local cfg = tmp .. "/r.yml"
      assert(require("ctr.core").write_file_atomic(cfg, table.concat({ "version: 0.1", "log:", "  level: error",
        "storage:", "  filesystem:", "    rootdirectory: " .. tmp .. "/store", "http:", "  addr: 127.0.0.1:" .. port, "" },
        "\n")))
      pid = tonumber((U.sh("docker-registry serve " .. U.q(cfg) .. " >/dev/null 2>&1 & echo $!")))
      if U.wait_for(function() return select(3, U.sh("curl -sf -o /dev/null http://127.0.0.1:" .. port .. "/v2/")) == 0 end, 10)
      then break end
      os.execute("kill " .. pid); pid = nil
    end
    assert(pid, "docker-registry did not start")
    local ref = "127.0.0.1:" .. port .. "/test/rl:v2"
    local good, e = pcall(function()
      ok("skopeo copy -q --dest-tls-verify=false oci:" .. L .. ":v2 docker://" .. ref)
      local _, out, err, code
      _, err, code = as_user({ "pull", "-q", ref })
      assert.are.equal(0, code, err)
      -- the layers are the user's and its subordinate ids', as its containers see them
      out, err, code = as_user({ "run", "--rm", "--network", "none", ref, "sh", "-c",
        "ls /d; test -e /etc/deleted || echo no-deleted; stat -c %u /www/f" })
      assert.are.equal(0, code, err)
      assert.are.equal("new\nno-deleted\n33\n", out)
      _, err, code = as_user({ "run", "-d", "--network", "none", "--name", "cm", ref, "sh", "-c",
        "echo made > /m && chown 44 /m && rm -rf /d && mkdir /d && touch /d/x && touch /ready && sleep 60" })
      assert.are.equal(0, code, err)
      assert(U.wait_for(function() return select(3, as_user({ "exec", "cm", "sh", "-c", "test -e /ready" })) == 0 end, 10))
      _, err, code = as_user({ "commit", "cm", "rl:committed" })
      assert.are.equal(0, code, err)
      out, err, code = as_user({ "run", "--rm", "--network", "none", "rl:committed", "sh", "-c",
        "cat /m; stat -c %u /m; ls /d" })
      assert.are.equal(0, code, err)
      assert.are.equal("made\n44\nx\n", out)
      _, err, code = as_user({ "rm", "-f", "cm" })
      assert.are.equal(0, code, err)
    end)
    os.execute("kill " .. pid)
    if not good then as_user({ "rm", "-f", "cm" }) end
    assert(good, e)
    assert.same({}, U.container_ids(home .. "/.local/share/luac-ctr"))
    assert.are.equal("", (U.sh("ls " .. U.q(home .. "/.local/share/luac-ctr/tmp"))))
    -- the store is the user's (the pulled layers and the commit's, with its subordinate ids inside)
    assert.are.equal(tostring(uid) .. "\n", (U.sh("stat -c %u " .. U.q(home .. "/.local/share/luac-ctr/images"))))
  end)

  it("says in one line, exit 125, what does not work without root", function()
    for _, args in ipairs({
      { "run", "--rm", "--network", "bridge", "busybox", "true" },
      { "run", "--rm", "--privileged", "busybox", "true" }, { "run", "--rm", "-p", "80:80", "busybox", "true" },
      { "run", "--rm", "-p", "1023:80", "busybox", "true" }, { "run", "--rm", "--uidmap", "0:1:1", "busybox", "true" },
      { "push", "x" }, { "network", "ls" },
    }) do
      local out, err, code = as_user(args)
      assert.are.equal(125, code, table.concat(args, " ") .. ": " .. err)
      assert.are.equal("", out)
      assert.matches("^luac%-ctr: [^\n]+\n$", err)
    end
    assert.same({}, U.container_ids(home .. "/.local/share/luac-ctr"))
  end)

  it("runs without the limits, with a one-line warning, where no cgroup v2 subtree is delegated", function()
    -- (the user's process is in root's cgroup here; the limits enforced in a delegated one: spec/run_v2_spec.lua)
    local out, err, code = as_user({ "run", "--rm", "--network", "none", "-m", "10m", "--pids-limit", "5", "busybox",
      "echo", "ran" })
    assert.are.equal(0, code, err)
    assert.are.equal("ran\n", out)
    assert.matches("^luac%-ctr: warning: rootless: resource limits [^\n]* not applied: no delegated cgroup v2 subtree[^\n]*\n$",
      err)
  end)
end)
