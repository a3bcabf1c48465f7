-- rootless (#root, to make the user): an unprivileged user that the spec
-- creates (useradd, /etc/subuid and /etc/subgid entries, XDG_RUNTIME_DIR set
-- by hand, no loginctl) runs containers with state under
-- $XDG_DATA_HOME/luac-ctr; what does not work rootless is one line, 125.
local U = require "spec_util"
local json = require "ctr.json"

local NAME = "lctrrl" .. tostring(os.time() % 100000)
local SUB = 520000 -- the user's subordinate ids
local uid, home, runtime

-- Run the launcher as the user, with its environment.
local function as_user(args)
  local parts = { "setpriv", "--reuid", tostring(uid), "--regid", tostring(uid), "--clear-groups", "env", "-i",
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" .. U.q(home), "XDG_DATA_HOME=" .. U.q(home .. "/.local/share"),
    "XDG_RUNTIME_DIR=" .. U.q(runtime), U.q(U.launcher) }
  for _, a in ipairs(args) do parts[#parts + 1] = U.q(a) end
  return U.sh("cd / && " .. table.concat(parts, " "))
end

-- /etc/subuid or /etc/subgid without the spec user's lines (kept atomically).
local function drop_lines(path)
  local f = io.open(path); if not f then return end
  local keep = {}
  for line in f:lines() do if line:sub(1, #NAME + 1) ~= NAME .. ":" then keep[#keep + 1] = line .. "\n" end end
  f:close()
  assert(require("ctr.core").write_file_atomic(path, table.concat(keep), 420))
end

local function host_uid(pid)
  for line in io.lines("/proc/" .. pid .. "/status") do
    local u = line:match("^Uid:%s+(%d+)")
    if u then return math.tointeger(tonumber(u)) end
  end
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
  end)

  teardown(function()
    if home then
      for _, id in ipairs(U.container_ids(home .. "/.local/share/luac-ctr")) do as_user({ "rm", "-f", id }) end
    end
    os.execute("userdel -r " .. NAME .. " 2>/dev/null; rm -rf " .. runtime)
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
    assert.are.equal(uid, host_uid(pid))
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

  it("says in one line, exit 125, what does not work without root", function()
    for _, args in ipairs({
      { "run", "--rm", "-m", "10m", "busybox", "true" }, { "run", "--rm", "--network", "bridge", "busybox", "true" },
      { "run", "--rm", "--privileged", "busybox", "true" }, { "run", "--rm", "--uidmap", "0:1:1", "busybox", "true" },
      { "commit", "x", "y" }, { "network", "ls" },
    }) do
      local out, err, code = as_user(args)
      assert.are.equal(125, code, table.concat(args, " ") .. ": " .. err)
      assert.are.equal("", out)
      assert.matches("^luac%-ctr: [^\n]+\n$", err)
    end
    assert.same({}, U.container_ids(home .. "/.local/share/luac-ctr"))
  end)
end)
