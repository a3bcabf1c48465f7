-- commit and export (#root): images from containers' changes, their
-- filesystems as tarballs, round trips through import.
local U = require "spec_util"
local json = require "ctr.json"
local core = require "ctr.core"

local root

local function ctr(...) return U.ctr(root, { ... }) end

local function ok(...) return U.ctr_ok(root, { ... }) end

local function image_of(ref)
  return json.decode(ok("image", "inspect", ref))[1]
end

-- Every entry of a tree: path -> "type mode uid gid size target-or-content-hash"
local function tree(dir)
  local t = {}
  local function walk(rel)
    local path = dir .. rel
    for _, name in ipairs(assert(core.readdir(path))) do
      local p, r = path .. "/" .. name, rel .. "/" .. name
      local st = assert(core.lstat(p))
      local extra = ""
      if st.type == "link" then extra = core.readlink(p)
      elseif st.type == "file" then extra = core.read_file(p) end
      t[r] = table.concat({ st.type, st.mode, st.uid, st.gid, st.type == "dir" and "" or st.size,
        st.type == "dir" and "" or tostring(st.mtime), extra }, " ")
      if st.type == "dir" then walk(r) end
    end
  end
  walk("")
  return t
end

describe("commit and export #root", function()
  local work
  before_each(function()
    root = U.tmproot()
    work = root .. "/work"
    assert(core.mkdir(work, 448))
  end)
  after_each(function()
    local ids = U.container_ids(root)
    U.rm_all(root)
    for _, id in ipairs(ids) do assert.same({}, U.cgroup_dirs(id)) end
    assert.same({}, U.cleanup(root))
  end)

  local CHANGES = "echo new > /newfile; rm /bin/ls; rm -rf /home; mkdir /home; echo only > /home/only; mkdir -p /d/e; ln /newfile /d/hard"

  it("makes an image one layer above the container's image; run shows the changes, deletions included", function()
    ok("run", "--network", "none", "--name", "src", "busybox", "sh", "-c", CHANGES)
    local out = ok("commit", "src", "snap:1")
    local id = out:match("^sha256:(%x+)\n$")
    assert.is_truthy(id)
    local img, base = image_of("snap:1"), image_of("busybox")
    assert.are.equal(id, img.id)
    assert.are.equal(#base.layers + 1, #img.layers)
    for i, l in ipairs(base.layers) do assert.are.equal(l, img.layers[i]) end
    assert.are.equal(base.id, img.parent)
    -- the layer keeps the whiteout and the opaque directory
    local layer = root .. "/layers/" .. img.layers[#img.layers]
    local wh = core.lstat(layer .. "/bin/ls")
    assert.are.equal("chr", wh.type)
    assert.are.equal(0, wh.rdev)
    assert.are.equal("y", core.getxattr(layer .. "/home", "trusted.overlay.opaque"))
    out = ok("run", "--rm", "--network", "none", "snap:1", "sh", "-c",
      "cat /newfile; ls /bin/ls 2>/dev/null || echo no-ls; ls /home; test /d/hard -ef /newfile && echo linked")
    assert.are.equal("new\nno-ls\nonly\nlinked\n", out)
  end)

  it("applies --change and -m; committing to an existing name moves the tag", function()
    ok("run", "--network", "none", "--name", "src", "busybox", "sh", "-c", "mkdir /app; echo v1 > /app/v")
    local first = ok("commit", "src", "app"):match("sha256:(%x+)")
    ok("start", "-a", "src") -- same command again: nothing new, but commit again
    local second = ok("commit", "-c", "ENV GREETING=hi", "-c", "WORKDIR /app", "-c", 'CMD ["sh", "-c", "echo $GREETING; pwd; cat v"]',
      "-m", "second", "src", "app:latest"):match("sha256:(%x+)")
    assert.are_not.equal(first, second)
    local img = image_of("app")
    assert.are.equal(second, img.id)
    assert.are.equal("second", img.comment)
    assert.same({ "sh", "-c", "echo $GREETING; pwd; cat v" }, img.config.Cmd)
    -- the old image lost its tag but still exists
    local old = image_of(first)
    assert.same({}, old.repo_tags)
    assert.are.equal("hi\n/app\nv1\n", ok("run", "--rm", "--network", "none", "app"))
  end)

  it("commits a running container; an untagged commit has no name", function()
    ok("run", "-d", "--network", "none", "--name", "live", "busybox", "sh", "-c", "echo state > /live; echo ready; sleep 30")
    assert.is_truthy(U.wait_for(function() return ctr("logs", "live"):find("ready", 1, true) end, 10))
    local id = ok("commit", "live"):match("sha256:(%x+)")
    assert.are.equal("running", json.decode(ok("inspect", "live"))[1].State.Status)
    assert.same({}, image_of(id).repo_tags)
    assert.are.equal("state\n", ok("run", "--rm", "--network", "none", id, "cat", "/live"))
    -- it was frozen for the copy and thawed again: still responsive
    assert.are.equal("alive\n", ok("exec", "live", "echo", "alive"))
    local state = require "ctr.state"
    state.set_root(root)
    local c = require("ctr.container").get("live")
    state.set_root(nil)
    local freezer
    for _, d in ipairs(U.cgroup_dirs(c.id)) do
      if core.exists(d .. "/freezer.state") then freezer = d .. "/freezer.state" end
    end
    if freezer then
      local thaw = require("ctr.commit").freeze(c)
      assert.is_function(thaw)
      assert.matches("^FROZEN", core.read_file(freezer))
      thaw()
      assert.matches("^THAWED", core.read_file(freezer))
    end
    assert.is_truthy(ok("commit", "--pause=false", "live"):match("^sha256:"))
  end)

  it("fails cleanly: unknown container (exit 1), bad name or change (125), nothing left behind", function()
    local _, err, code = ctr("commit", "nosuch", "x")
    assert.are.equal(1, code)
    assert.matches("no such container: nosuch", err)
    ok("run", "--network", "none", "--name", "src", "busybox", "true")
    _, err, code = ctr("commit", "src", "Bad:Name")
    assert.are.equal(125, code)
    assert.matches("invalid reference format", err)
    _, err, code = ctr("commit", "-c", "FROB x", "src", "fine")
    assert.are.equal(125, code)
    assert.matches("unsupported %-%-change", err)
    assert.same({}, core.readdir(root .. "/tmp"))
    assert.are.equal(1, #core.readdir(root .. "/images"))
  end)

  it("exports the merged filesystem; it imports back to an identical tree", function()
    ok("run", "--network", "none", "--name", "src", "busybox", "sh", "-c", CHANGES)
    local tar1 = work .. "/one.tar"
    ok("export", "-o", tar1, "src")
    local archive = require "ctr.archive"
    local names = {}
    for _, e in ipairs(assert(archive.list(tar1))) do names[e.path:gsub("/$", "")] = e end
    assert.is_truthy(names["newfile"])
    assert.is_truthy(names["home/only"])
    assert.is_nil(names["bin/ls"])
    assert.is_nil(names["home/user"])
    assert.is_truthy(names["bin/sh"])
    assert.same({}, U.mounts_under(root))
    assert.same({}, core.readdir(root .. "/tmp"))
    -- import, make a container of it, export again: the same tree
    ok("import", tar1, "round:trip")
    assert.are.equal("new\nonly\n", ok("run", "--network", "none", "--name", "copy", "round:trip", "sh", "-c", "cat /newfile; ls /home"))
    local tar2 = work .. "/two.tar"
    ok("export", "--output", tar2, "copy")
    local d1, d2 = work .. "/x1", work .. "/x2"
    assert(core.mkdir(d1, 493)); assert(core.mkdir(d2, 493))
    assert(archive.extract(tar1, d1))
    assert(archive.extract(tar2, d2))
    local t1, t2 = tree(d1), tree(d2)
    assert.is_truthy(t1["/newfile"])
    assert.same(t1, t2)
  end)

  it("exports to standard output, refuses a terminal, fails for unknown containers", function()
    ok("run", "--network", "none", "--name", "src", "busybox", "true")
    local out = ok("export", "src")
    assert.is_true(#out > 100000)
    assert.are.equal("ustar", out:sub(258, 262))
    local _, err, code = ctr("export", "nosuch")
    assert.are.equal(1, code)
    assert.matches("no such container", err)
    local s = U.pty(root, { "export", "src" })
    assert.are.equal(1, s:wait(10))
    assert.matches("refusing to save to a terminal", s.buf)
    s:close()
  end)
end)
