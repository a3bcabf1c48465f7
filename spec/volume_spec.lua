-- volumes (#root): named and anonymous volumes, the volume command, run's
-- -v NAME:/path, -v /path, image Volumes, --mount, --tmpfs, --volumes-from,
-- rm -v and --rm, hostile names and --mount strings.
local U = require "spec_util"
local json = require "ctr.json"
local core = require "ctr.core"

local root

local function ctr(...) return U.ctr(root, { ... }) end

local function ok(...) return U.ctr_ok(root, { ... }) end

-- run --rm --network none IMAGE sh -c SCRIPT with the options before it
local function sh(opts, script, image)
  local args = { "run", "--rm", "--network", "none" }
  for _, o in ipairs(opts) do args[#args + 1] = o end
  args[#args + 1] = image or "busybox"
  for _, a in ipairs({ "sh", "-c", script }) do args[#args + 1] = a end
  return U.ctr(root, args)
end

local function volumes()
  local t = {}
  for name in ok("volume", "ls", "-q"):gmatch("[^\n]+") do t[#t + 1] = name end
  return t
end

-- Every volume directory and container directory of the root.
local function leftovers()
  local t = {}
  for _, sub in ipairs({ "volumes", "containers" }) do
    for _, n in ipairs(core.readdir(root .. "/" .. sub) or {}) do t[#t + 1] = sub .. "/" .. n end
  end
  table.sort(t)
  return t
end

describe("volumes #root", function()
  before_each(function() root = U.tmproot() end)
  after_each(function()
    U.rm_all(root)
    assert.same({}, U.cleanup(root))
  end)

  it("a database-like process writes into a named volume that outlives its container", function()
    -- a "database": appends records and fsyncs, then a second container reads them
    ok("run", "--network", "none", "--name", "db", "-v", "pgdata:/var/lib/db", "busybox", "sh", "-c",
      "for i in 1 2 3; do echo row$i >> /var/lib/db/table; done; sync; mkdir /var/lib/db/wal; echo commit > /var/lib/db/wal/1")
    ok("rm", "-v", "db") -- -v removes anonymous volumes only
    assert.same({ "pgdata" }, volumes())
    local out, err, code = sh({ "-v", "pgdata:/data:ro" }, "cat /data/table /data/wal/1; touch /data/x 2>&1; true")
    assert.are.equal(0, code, err)
    assert.are.equal("row1\nrow2\nrow3\ncommit\ntouch: /data/x: Read-only file system\n", out)
    local d = json.decode(ok("volume", "inspect", "pgdata"))[1]
    assert.are.equal("pgdata", d.Name)
    assert.are.equal("local", d.Driver)
    assert.are.equal("local", d.Scope)
    assert.are.equal(root .. "/volumes/pgdata/_data", d.Mountpoint)
    assert.is_truthy(d.CreatedAt:match("^%d%d%d%d%-%d%d%-%d%dT"))
    assert.are.equal("row1\nrow2\nrow3\n", core.read_file(d.Mountpoint .. "/table"))
    assert.are.equal(root .. "/volumes/pgdata/_data\n", ok("volume", "inspect", "-f", "{{.Mountpoint}}", "pgdata"))
  end)

  it("volume create, ls (table, -q, --format, --filter), rm and prune as docker", function()
    assert.are.equal("named\n", ok("volume", "create", "--label", "app=web", "named"))
    local anon = ok("volume", "create"):match("^(%x+)\n$")
    assert.are.equal(64, #anon)
    assert.are.equal("named\n", ok("volume", "create", "named")) -- exists: returned as it is
    local ls = ok("volume", "ls")
    assert.is_truthy(ls:match("^DRIVER%s+VOLUME NAME\n"))
    assert.is_truthy(ls:find("local%s+named\n"))
    assert.are.equal("named\n", ok("volume", "ls", "-q", "--filter", "label=app=web"))
    assert.are.equal("named\n", ok("volume", "ls", "-q", "--filter", "name=nam"))
    assert.are.equal("named local\n", ok("volume", "ls", "--format", "{{.Name}} {{.Driver}}", "--filter", "label=app"))
    assert.are.equal("web", json.decode(ok("volume", "inspect", "named"))[1].Labels.app)
    -- in use by a stopped container: rm refused, prune keeps it
    ok("run", "--name", "user", "--network", "none", "-v", "named:/n", "busybox", "true")
    assert.are.equal(anon .. "\n", ok("volume", "ls", "-q", "--filter", "dangling=true"))
    local _, err, code = ctr("volume", "rm", "named")
    assert.are.equal(1, code)
    assert.is_truthy(err:match("remove named: volume is in use %- %[%x+%]"), err)
    -- prune: anonymous unused volumes; -a: every unused one
    local out = ok("volume", "prune", "-f")
    assert.is_truthy(out:match("^Deleted Volumes:\n" .. anon .. "\n\nTotal reclaimed space: "), out)
    assert.same({ "named" }, volumes())
    assert.is_truthy(ok("volume", "prune", "-f", "-a"):match("^Total reclaimed space: 0B\n$"))
    ok("rm", "user")
    ok("volume", "create", "other")
    assert.are.equal("named\nother\n", ok("volume", "rm", "named", "other"))
    assert.same({}, volumes())
    _, err, code = ctr("volume", "rm", "nope")
    assert.are.equal(1, code)
    assert.is_truthy(err:find("no such volume: nope", 1, true))
    assert.are.equal("", ok("volume", "rm", "-f", "nope"))
  end)

  it("anonymous volumes: -v /path and the image's Volumes, removed by --rm and rm -v; named ones stay", function()
    ok("run", "--network", "none", "--name", "seed", "busybox", "sh", "-c",
      "mkdir -p /srv/data && echo seeded > /srv/data/s && chown 1000:1000 /srv/data/s && chmod 750 /srv/data"
        .. " && ln -s /etc/shadow /srv/data/abs && ln -s ../../../../../../../etc /srv/data/up") -- hostile links
    ok("commit", "--change", "VOLUME /srv/data", "seed", "volimg")
    ok("rm", "seed")
    -- a new volume gets the image's files at its path (owners and modes kept)
    local out, err, code = sh({ "-v", "keep:/keep", "-v", "/scratch" },
      "cat /srv/data/s; stat -c '%u %a' /srv/data/s /srv/data; echo x > /scratch/f; grep -c ' /srv/data ' /proc/mounts",
      "volimg")
    assert.are.equal(0, code, err)
    assert.are.equal("seeded\n1000 644\n0 750\n1\n", out)
    assert.same({ "keep" }, volumes()) -- the two anonymous ones went with --rm
    -- rm -v: the anonymous volume goes, a named one stays; rm alone keeps both
    ok("run", "--network", "none", "--name", "a", "-v", "keep:/keep", "volimg", "true")
    ok("run", "--network", "none", "--name", "b", "volimg", "true")
    local mounts = json.decode(ok("inspect", "a"))[1].Mounts
    table.sort(mounts, function(x, y) return x.Destination < y.Destination end)
    assert.are.equal("/keep", mounts[1].Destination)
    assert.are.equal("volume", mounts[1].Type)
    assert.are.equal("keep", mounts[1].Name)
    assert.are.equal("local", mounts[1].Driver)
    assert.are.equal(true, mounts[1].RW)
    assert.are.equal(root .. "/volumes/keep/_data", mounts[1].Source)
    assert.are.equal("/srv/data", mounts[2].Destination)
    assert.are.equal(64, #mounts[2].Name)
    -- the image's links were copied as links, never followed on the host
    assert.are.equal("/etc/shadow", core.readlink(mounts[2].Source .. "/abs"))
    assert.are.equal("link", core.lstat(mounts[2].Source .. "/up").type)
    assert.are.equal("seeded\n", core.read_file(mounts[2].Source .. "/s"))
    -- an empty volume made before gets them too; a filled one is left as it is
    ok("volume", "create", "empty")
    assert.are.equal("seeded\n", ok("run", "--rm", "--network", "none", "-v", "empty:/srv/data", "volimg", "cat", "/srv/data/s"))
    ok("run", "--rm", "--network", "none", "-v", "filled:/f", "busybox", "touch", "/f/mine")
    assert.are.equal("mine\n", ok("run", "--rm", "--network", "none", "-v", "filled:/srv/data", "volimg", "ls", "/srv/data"))
    ok("volume", "rm", "empty", "filled")
    ok("rm", "-v", "a")
    assert.are.equal(2, #volumes()) -- keep, and b's
    assert.is_nil(core.stat(root .. "/volumes/" .. mounts[2].Name))
    ok("rm", "b")
    assert.are.equal(2, #volumes()) -- docker keeps it without -v
    ok("volume", "prune", "-f")
    assert.same({ "keep" }, volumes())
  end)

  it("--mount bind|volume|tmpfs, --tmpfs and --volumes-from", function()
    local host = root .. "/host"
    assert(core.mkdir(host, 493))
    assert(core.write_file_atomic(host .. "/h", "from host\n", 420))
    local out, err, code = sh({ "--mount", "type=bind,source=" .. host .. ",target=/h,readonly",
      "--mount", "type=volume,src=mv,dst=/mv,volume-label=tier=db",
      "--mount", "type=tmpfs,destination=/t1,tmpfs-size=1m,tmpfs-mode=1770",
      "--tmpfs", "/t2:size=2m,exec" },
      "cat /h/h; touch /h/x 2>/dev/null || echo ro; echo v > /mv/f; grep -E ' /t[12] ' /proc/mounts | sort; stat -c %a /t1")
    assert.are.equal(0, code, err)
    assert.is_truthy(out:match("^from host\nro\ntmpfs /t1 tmpfs rw,nosuid,nodev,noexec,[^\n]*size=1024k[^\n]*mode=1770"), out)
    assert.is_truthy(out:match("\ntmpfs /t2 tmpfs rw,nosuid,nodev,[^\n]*size=2048k"), out)
    assert.is_falsy(out:match("/t2 tmpfs [^\n]*noexec"), out)
    assert.is_truthy(out:match("\n1770\n$"), out)
    assert.are.equal("db", json.decode(ok("volume", "inspect", "mv"))[1].Labels.tier)
    -- --volumes-from: the same volumes and binds at the same places, :ro
    ok("run", "--name", "src", "--network", "none", "-v", "mv:/mv", "-v", host .. ":/h", "busybox", "true")
    out, err, code = sh({ "--volumes-from", "src:ro" }, "cat /mv/f /h/h; touch /mv/y 2>/dev/null || echo ro")
    assert.are.equal(0, code, err)
    assert.are.equal("v\nfrom host\nro\n", out)
    local m = json.decode(ok("inspect", "src"))[1].Mounts
    table.sort(m, function(x, y) return x.Destination < y.Destination end)
    assert.are.equal("bind", m[1].Type)
    assert.are.equal(host, m[1].Source)
    assert.are.equal("rprivate", m[1].Propagation)
  end)

  it("hostile names and --mount strings fail with one line and leave nothing behind", function()
    ok("volume", "create", "base")
    local before = leftovers()
    local cases = {
      { "-v", "./dir:/x", 'create ./dir: "./dir" includes invalid characters for a local volume name, only '
        .. '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path' },
      { "-v", "../../etc:/x", "invalid characters" },
      { "-v", "a/b:/x", "invalid characters" },
      { "-v", "ok:relative", "must be an absolute path" },
      { "-v", "ok:/a/../../etc", "escapes the root filesystem" },
      { "-v", "ok:/x:rw,bogus", "unknown mode" },
      { "--mount", "type=volume,foo=bar,dst=/x", "unexpected key 'foo' in 'foo=bar'" },
      { "--mount", "type=volume,src=../x,dst=/x", "invalid characters" },
      { "--mount", "type=bind,src=/nonexistent-luac-ctr,dst=/x", "bind source path does not exist" },
      { "--mount", "type=tmpfs,src=x,dst=/x", "must not be specified" },
      { "--mount", "type=nfs,dst=/x", "invalid mount type" },
      { "--mount", "src=v", "target is required" },
      { "--mount", "type=tmpfs,dst=/x,tmpfs-size=huge", "invalid tmpfs-size" },
      { "--mount", 'type=volume,src="v",dst=/x', "quotes are not supported" },
      { "--tmpfs", "/x:size=1m,uid=0;rm", "invalid tmpfs option" },
      { "--volumes-from", "nosuch", "no such container" },
      { "-v", "ok:/x", "-v", "ok2:/x", "Duplicate mount point: /x" },
    }
    for _, c in ipairs(cases) do
      local args = { "run", "--rm", "--network", "none" }
      for i = 1, #c - 1 do args[#args + 1] = c[i] end
      for _, a in ipairs({ "busybox", "true" }) do args[#args + 1] = a end
      local out, err, code = U.ctr(root, args)
      assert.are.equal(125, code, table.concat(c, " ") .. ": " .. err)
      assert.are.equal("", out)
      assert.is_truthy(err:find(c[#c], 1, true), err)
      assert.are.equal(1, select(2, err:gsub("\n", "")), err)
    end
    for _, name in ipairs({ "../x", "a/b", "x", "_x", ".x", ("a"):rep(300) }) do
      local _, err, code = ctr("volume", "create", name)
      assert.are_not.equal(0, code, name)
      assert.is_truthy(err:find("invalid characters", 1, true), err)
    end
    assert.same(before, leftovers())
    assert.same({}, U.mounts_under(root))
  end)

  it("--userns=auto mounts a volume idmapped: the image's owners kept, shared with other containers", function()
    local out, err, code = sh({ "--userns", "auto", "-v", "shared:/etc" },
      "stat -c '%u %g' /etc/passwd; echo u > /etc/written; stat -c %u /etc/written")
    assert.are.equal(0, code, err)
    assert.are.equal("0 0\n0\n", out)
    local st = assert(core.stat(root .. "/volumes/shared/_data/written"))
    assert.are.equal(0, st.uid) -- the container's root through the idmapped mount
    out, err, code = sh({ "-v", "shared:/v" }, "cat /v/written")
    assert.are.equal(0, code, err)
    assert.are.equal("u\n", out)
  end)
end)
