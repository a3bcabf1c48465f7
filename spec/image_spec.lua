-- ctr.image and ctr.archive: the busybox image, import (plain and gzip,
-- special files, refused escapes), listing, tags, rmi (and refusal while a
-- container uses the image), commit-style layers, export/import round trips,
-- and the import/images/rmi/tag workflows through the launcher.
local core = require "ctr.core"
local archive = require "ctr.archive"
local image = require "ctr.image"
local state = require "ctr.state"
local U = require "spec_util"

local q = U.q

local function sh_ok(cmd)
  local out, err, code = U.sh("{ " .. cmd .. "; }")
  assert(code == 0, ("command failed (%d): %s\n%s"):format(code, cmd, err))
  return out
end

-- run fn, then cleanup (even when fn fails), then re-raise fn's error
local function finally_do(fn, cleanup)
  local ok, err = pcall(fn)
  cleanup()
  if not ok then error(err, 0) end
end

-- A listing of a tree that tells two trees apart: path, type, mode, owner,
-- device numbers, link count, mtime of non-directories, symlink targets and
-- file checksums.
local function tree_listing(dir)
  local meta = sh_ok("cd " .. q(dir) .. " && find . -mindepth 1 -exec stat -c '%n|%F|%a|%u|%g|%t:%T|%h' {} + | sort")
  local times = sh_ok("cd " .. q(dir) .. " && find . -mindepth 1 ! -type d -exec stat -c '%n %Y' {} + | sort")
  local links = sh_ok("cd " .. q(dir) .. " && find . -type l -printf '%p -> %l\\n' | sort")
  local sums = sh_ok("cd " .. q(dir) .. " && find . -type f -exec sha256sum {} + | sort -k2")
  assert(meta:find("|", 1, true) and sums:find("%x%x%x%x"), "empty listing of " .. dir)
  return meta .. "\n" .. times .. "\n" .. links .. "\n" .. sums
end

-- A source tree with the interesting kinds of entries.
local function make_tree(dir)
  sh_ok(table.concat({
    "mkdir -p " .. q(dir) .. " && cd " .. q(dir),
    "chmod 755 .",
    "mkdir -p bin etc/sub tmp var/empty",
    "printf 'hello\\n' > etc/greeting",
    "head -c 70000 /dev/urandom > bin/blob",
    "chmod 4755 bin/blob",
    "chown 1000:1001 etc/greeting",
    "chmod 1777 tmp",
    "ln -s ../etc/greeting bin/link",
    "ln -s /absolute/target bin/abslink",
    "ln etc/greeting etc/sub/hardlink",
    "mknod dev-null c 1 3",
    "mkfifo fifo",
    "touch -d '2001-02-03 04:05:06' etc/greeting",
  }, " && "))
end

local function count(dir)
  local t = core.readdir(dir)
  return t and #t or 0
end

describe("ctr.image #root", function()
  local root, sroot

  before_each(function()
    root = U.tmproot()
    sroot = root .. "/state"
    state.set_root(sroot)
  end)
  after_each(function()
    state.set_root(nil)
    for _, m in ipairs(U.mounts_under(root)) do os.execute("umount -l " .. q(m)) end
    U.cleanup(root)
  end)

  describe("busybox", function()
    it("is built on first use with a working shell", function()
      local img = assert(image.resolve("busybox"))
      assert.are.equal(64, #img.id)
      assert.are.same({ "busybox:latest" }, img.repo_tags)
      assert.are.equal("busybox", img.name)
      assert.are.equal("latest", img.tag)
      assert.are.same({ "sh" }, img.config.Cmd)
      assert.are.same({ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, img.config.Env)
      assert.is_true(img.size > 500000)
      assert.are.equal(1, #img.layers)
      local layer = image.lower_dirs(img)[1]
      assert.are.equal(sroot .. "/layers/" .. img.layers[1], layer)
      assert.are.equal("file", core.stat(layer .. "/bin/busybox").type)
      assert.are.equal("/bin/busybox", core.readlink(layer .. "/bin/sh"))
      assert.are.equal("link", core.lstat(layer .. "/usr/bin/env").type)
      local tmp = core.stat(layer .. "/tmp")
      assert.are.equal(1023, tmp.mode) -- 01777
      assert.are.equal(493, core.stat(layer).mode)
      for _, d in ipairs({ "proc", "sys", "dev", "root", "home", "var", "etc" }) do
        assert.are.equal("dir", core.stat(layer .. "/" .. d).type, d)
      end
      assert.matches("^root:x:0:0:root:/root:/bin/sh\n", core.read_file(layer .. "/etc/passwd"))
      assert.matches("\nnobody:x:65534:65534:", core.read_file(layer .. "/etc/passwd"))
      assert.matches("root:x:0:", core.read_file(layer .. "/etc/group"))
      local out = sh_ok("chroot " .. q(layer) .. " /bin/sh -c 'echo ok; id -un'")
      assert.are.equal("ok\nroot\n", out)
      -- the second lookup finds the same image
      assert.are.equal(img.id, image.resolve("busybox:latest").id)
      assert.are.equal(img.id, image.resolve(img.id:sub(1, 8)).id)
      assert.are.equal(img.id, image.resolve("sha256:" .. img.id).id)
      assert.are.equal(0, count(sroot .. "/tmp"))
    end)

    it("is built once when several processes need it at the same time", function()
      local prelude = ("package.path=%q..package.path; package.cpath=%q..package.cpath; "):format(
        U.srcdir .. "/lua/?.lua;", U.srcdir .. "/" .. U.build .. "/?.so;")
      local code = prelude .. "print(assert(require('ctr.image').resolve('busybox')).id)"
      local cmd = "export LUAC_CTR_ROOT=" .. q(sroot) .. "; for i in 1 2 3 4; do lua5.4 -e " .. q(code) ..
          " & done; wait"
      local out = sh_ok(cmd)
      local ids = {}
      for id in out:gmatch("%x+") do ids[id] = true end
      local n = 0
      for _ in pairs(ids) do n = n + 1 end
      assert.are.equal(1, n, out)
      assert.are.equal(1, count(sroot .. "/images"))
      assert.are.equal(1, count(sroot .. "/layers"))
    end)

    it("fails clearly when /bin/busybox is missing", function()
      local saved = image.BUSYBOX
      image.BUSYBOX = root .. "/no-busybox"
      local img, err = image.resolve("busybox")
      image.BUSYBOX = saved
      assert.is_nil(img)
      assert.matches("install busybox%-static", err)
      assert.are.equal(0, count(sroot .. "/images"))
      assert.are.equal(0, count(sroot .. "/layers"))
    end)
  end)

  describe("references", function()
    it("parses names and tags", function()
      assert.are.same({ "busybox", "latest" }, { image.parse_ref("busybox") })
      assert.are.same({ "my/app", "v1.2" }, { image.parse_ref("my/app:v1.2") })
      assert.are.same({ "localhost:5000/app", "latest" }, { image.parse_ref("localhost:5000/app") })
      assert.is_nil(image.parse_ref("Upper"))
      assert.is_nil(image.parse_ref(""))
      assert.is_nil(image.parse_ref("a:b:c"))
      assert.is_nil(image.parse_ref("bad name"))
      assert.is_nil(image.parse_ref(("a"):rep(64):gsub("a", "f")))
    end)

    it("reports unknown and ambiguous references", function()
      local img, err = image.resolve("nosuch")
      assert.is_nil(img)
      assert.are.equal("no such image: nosuch", err)
      -- two images whose ids share a prefix
      state.ensure()
      for _, id in ipairs({ "ab" .. ("0"):rep(62), "ab" .. ("1"):rep(62) }) do
        state.write_json(state.dir("images", id .. ".json"), { id = id, layers = {}, repo_tags = {}, config = {} })
      end
      img, err = image.resolve("ab")
      assert.is_nil(img)
      assert.matches("ambiguous", err)
      assert.are.equal("ab" .. ("1"):rep(62), image.resolve("ab1").id)
    end)
  end)

  describe("import", function()
    it("imports plain and gzip tarballs keeping special files", function()
      local src = root .. "/src"
      make_tree(src)
      sh_ok("tar -cf " .. q(root .. "/t.tar") .. " -C " .. q(src) .. " .")
      sh_ok("tar -czf " .. q(root .. "/t.tgz") .. " -C " .. q(src) .. " .")
      local want = tree_listing(src)
      local a = image.import(root .. "/t.tar", "plain:1")
      local b = image.import(root .. "/t.tgz", "gz")
      assert.are.same({ "plain:1" }, a.repo_tags)
      assert.are.same({ "gz:latest" }, b.repo_tags)
      for _, img in ipairs({ a, b }) do
        local layer = image.lower_dirs(img)[1]
        assert.are.equal(want, tree_listing(layer))
        local st = core.lstat(layer .. "/dev-null")
        assert.are.same({ "chr", 1, 3 }, { st.type, st.rdev_major, st.rdev_minor })
        assert.are.equal(1000, core.stat(layer .. "/etc/greeting").uid)
        assert.are.equal("/absolute/target", core.readlink(layer .. "/bin/abslink"))
        assert.is_nil(img.config.Cmd)
        assert.is_true(img.size >= 70000)
      end
      assert.are.equal(0, count(sroot .. "/tmp"))
    end)

    it("applies --change instructions", function()
      local src = root .. "/src"
      make_tree(src)
      sh_ok("tar -cf " .. q(root .. "/t.tar") .. " -C " .. q(src) .. " .")
      local img = image.import(root .. "/t.tar", "changed", {
        change = { 'CMD ["/bin/blob", "x"]', "ENV FOO=bar", "ENV PATH /bin", "WORKDIR /etc",
          "USER 1000", "ENTRYPOINT echo hi", "LABEL a=b" },
        message = "hello",
      })
      assert.are.same({ "/bin/blob", "x" }, img.config.Cmd)
      assert.are.same({ "/bin/sh", "-c", "echo hi" }, img.config.Entrypoint)
      assert.are.same({ "PATH=/bin", "FOO=bar" }, img.config.Env)
      assert.are.equal("/etc", img.config.WorkingDir)
      assert.are.equal("1000", img.config.User)
      assert.are.equal("b", img.config.Labels.a)
      assert.are.equal("hello", img.comment)
      assert.has_error(function() image.import(root .. "/t.tar", "x", { change = { "FROB x" } }) end)
      assert.are.equal(1, count(sroot .. "/images"))
    end)

    it("refuses absolute paths, .. and symlink traversal, leaving nothing behind", function()
      -- absolute path (tar -P keeps the leading /)
      sh_ok("mkdir -p " .. q(root .. "/abs") .. " && echo evil > " .. q(root .. "/abs/evil"))
      sh_ok("tar -cPf " .. q(root .. "/abs.tar") .. " " .. q(root .. "/abs/evil"))
      sh_ok("rm " .. q(root .. "/abs/evil"))
      -- .. escape
      sh_ok("mkdir -p " .. q(root .. "/dd/sub") .. " && echo x > " .. q(root .. "/dd/escape"))
      sh_ok("cd " .. q(root .. "/dd/sub") .. " && tar -cPf " .. q(root .. "/dd.tar") .. " ../escape")
      sh_ok("rm " .. q(root .. "/dd/escape"))
      -- a symlink to outside, then a file through it
      sh_ok(table.concat({
        "cd " .. q(root), "mkdir -p s1 s2/link target", "ln -s " .. q(root .. "/target") .. " s1/link",
        "echo x > s2/link/pwned", "tar -cf sym.tar -C s1 link", "tar -rf sym.tar -C s2 link/pwned",
      }, " && "))
      -- hard links to ../victim and to /abs/victim, followed by data for them
      sh_ok(table.concat({
        "cd " .. q(root), "mkdir -p hl/sub hl/other", "echo orig > hl/victim", "echo pwned > hl/other/x",
        "cd hl/sub", "ln ../victim x", "tar -cPf ../../hldd.tar ../victim x",
        "tar --delete -Pf ../../hldd.tar ../victim", "tar -rf ../../hldd.tar -C ../other x",
        "tar -cPf ../../hlabs.tar " .. q(root .. "/hl/victim") .. " x",
        "tar --delete -Pf ../../hlabs.tar " .. q(root .. "/hl/victim"), "tar -rf ../../hlabs.tar -C ../other x",
      }, " && "))
      assert.matches("^%.%./escape\n", sh_ok("tar -tf " .. q(root .. "/dd.tar")))
      assert.matches("^/", sh_ok("tar -tPf " .. q(root .. "/abs.tar")))
      assert.matches("link to %.%./victim", sh_ok("tar -tvPf " .. q(root .. "/hldd.tar") .. " 2>/dev/null"))
      assert.matches("link to /", sh_ok("tar -tvPf " .. q(root .. "/hlabs.tar") .. " 2>/dev/null"))

      for _, t in ipairs({ "abs.tar", "dd.tar", "sym.tar", "hldd.tar", "hlabs.tar" }) do
        local ok, err = pcall(image.import, root .. "/" .. t, "evil")
        assert.is_false(ok, t)
        assert.matches("cannot import", err)
      end
      assert.is_false(core.exists(root .. "/abs/evil"))
      assert.is_false(core.exists(sroot .. "/tmp/escape"))
      assert.is_false(core.exists(root .. "/target/pwned"))
      assert.are.equal("orig\n", core.read_file(root .. "/hl/victim"))
      assert.are.equal(0, count(sroot .. "/images"))
      assert.are.equal(0, count(sroot .. "/layers"))
      assert.are.equal(0, count(sroot .. "/tmp"))
    end)

    it("rejects bad tarballs and names before storing anything", function()
      core.write_file_atomic(root .. "/junk.tar", "this is not a tarball")
      assert.has_error(function() image.import(root .. "/junk.tar", "junk") end)
      assert.has_error(function() image.import(root .. "/missing.tar", "junk") end)
      assert.has_error(function() image.import(root .. "/junk.tar", "Bad:Name") end)
      assert.are.equal(0, count(sroot .. "/images"))
      assert.are.equal(0, count(sroot .. "/layers"))
      assert.are.equal(0, count(sroot .. "/tmp"))
    end)

    it("moves a tag to the newly imported image", function()
      local src = root .. "/src"
      make_tree(src)
      sh_ok("tar -cf " .. q(root .. "/t.tar") .. " -C " .. q(src) .. " .")
      local a = image.import(root .. "/t.tar", "app")
      local b = image.import(root .. "/t.tar", "app")
      assert.are.equal(b.id, image.resolve("app").id)
      local old = image.resolve(a.id)
      assert.are.same({}, old.repo_tags)
      assert.is_nil(old.name)
    end)
  end)

  describe("export and import", function()
    it("round-trips a tree through ctr.archive exactly", function()
      local bb = assert(image.resolve("busybox"))
      local src = root .. "/src"
      make_tree(src)
      sh_ok("cp -a " .. q(image.lower_dirs(bb)[1]) .. "/. " .. q(src))
      core.mknod(src .. "/whiteout", "chr", 0, 0, 0)
      assert.is_true(core.setxattr(src .. "/etc/sub", "trusted.overlay.opaque", "y"))
      assert.is_true(core.setxattr(src .. "/bin/blob", "user.note", "kept"))
      local want_with_wh = tree_listing(src)
      assert.is_true(archive.create(src, root .. "/export.tar"))
      assert.is_true(archive.create(src, root .. "/export.tgz", { gzip = true }))
      local entries = assert(archive.list(root .. "/export.tar"))
      for _, e in ipairs(entries) do
        assert.is_nil(e.path:match("^/"), e.path)
        assert.is_nil(e.path:match("^%./"), e.path)
        assert.are_not.equal("whiteout", e.path)
      end
      core.unlink(src .. "/whiteout")
      local want = tree_listing(src)
      assert.are_not.equal(want, want_with_wh)
      for _, t in ipairs({ "export.tar", "export.tgz" }) do
        local img = image.import(root .. "/" .. t, "rt:" .. t:gsub("%.", "-"))
        local layer = image.lower_dirs(img)[1]
        assert.are.equal(want, tree_listing(layer))
        assert.are.equal("y", core.getxattr(layer .. "/etc/sub", "trusted.overlay.opaque"))
        assert.are.equal("kept", core.getxattr(layer .. "/bin/blob", "user.note"))
      end
      -- GNU tar reads our archives too
      sh_ok("mkdir " .. q(root .. "/gnu") .. " && tar -xpf " .. q(root .. "/export.tar") .. " -C " .. q(root .. "/gnu"))
      sh_ok("chmod 755 " .. q(root .. "/gnu"))
      assert.are.equal(want, tree_listing(root .. "/gnu"))
    end)

    it("reports errors from create and extract", function()
      local ok, err, e = archive.create(root .. "/nope", root .. "/x.tar")
      assert.is_nil(ok)
      assert.matches("nope", err)
      assert.is_number(e)
      ok, err = archive.extract(root .. "/missing.tar", root)
      assert.is_nil(ok)
      assert.matches("missing.tar", err)
      assert.has_error(function() archive.extract(nil, root) end)
    end)
  end)

  describe("tags, layers and removal", function()
    it("tags, untags and deletes, keeping shared layers", function()
      local bb = assert(image.resolve("busybox"))
      local tagged = image.tag("busybox", "mine:1")
      assert.are.equal(bb.id, tagged.id)
      assert.are.same({ "busybox:latest", "mine:1" }, image.resolve("mine:1").repo_tags)
      assert.has_error(function() image.tag("busybox", "BAD") end)
      assert.has_error(function() image.tag("nosuch", "x") end)
      -- by id with two tags: refused without force
      local ok, err = pcall(image.remove, bb.id)
      assert.is_false(ok)
      assert.matches("must be forced", err)
      assert.are.same({ "Untagged: mine:1" }, image.remove("mine:1"))
      assert.is_nil(image.resolve("mine:1"))
      -- a child image sharing the busybox layer
      local dir = state.mktemp("layer")
      core.write_file_atomic(dir .. "/added", "new")
      core.mknod(dir .. "/tmp", "chr", 0, 0, 0) -- whiteout hides /tmp
      local child = image.add_layer_image({ parent = bb, layer_dir = dir, ref = "child:1",
        config = { Cmd = { "cat", "/added" } } })
      assert.are.equal(2, #child.layers)
      assert.are.equal(bb.layers[1], child.layers[1])
      assert.are.equal(bb.id, child.parent)
      assert.are.same({ "cat", "/added" }, child.config.Cmd)
      assert.is_false(core.exists(dir))
      local lowers = image.lower_dirs(child)
      assert.are.equal(sroot .. "/layers/" .. child.layers[2], lowers[1]) -- top first
      local mnt = root .. "/mnt"
      core.mkdir(mnt)
      sh_ok("mount -t overlay overlay -o " .. q("lowerdir=" .. table.concat(lowers, ":")) .. " " .. q(mnt))
      finally_do(function()
        assert.are.equal("new", core.read_file(mnt .. "/added"))
        assert.is_false(core.exists(mnt .. "/tmp"))
        assert.is_true(core.exists(mnt .. "/bin/busybox"))
      end, function() os.execute("umount " .. q(mnt)) end)
      -- deleting busybox keeps the layer the child needs
      local lines = image.remove("busybox")
      assert.are.same({ "Untagged: busybox:latest", "Deleted: " .. bb.id }, lines)
      assert.is_true(core.exists(lowers[2] .. "/bin/busybox"))
      assert.are.equal(child.id, image.resolve("child:1").id)
      -- deleting the child removes both layers
      image.remove("child:1")
      assert.are.equal(0, count(sroot .. "/layers"))
      assert.are.equal(0, count(sroot .. "/images"))
      assert.are.equal(0, count(sroot .. "/tmp"))
    end)

    it("refuses to remove an image a container uses unless forced", function()
      local bb = assert(image.resolve("busybox"))
      local cid = state.new_id()
      core.mkdir(state.dir("containers", cid))
      state.write_json(state.dir("containers", cid, "state.json"), { id = cid, name = "web", image_id = bb.id })
      local ok, err = pcall(image.remove, "busybox")
      assert.is_false(ok)
      assert.matches("web", err)
      assert.matches("must force", err)
      ok, err = pcall(image.remove, bb.id)
      assert.is_false(ok)
      assert.matches("web", err)
      assert.are.equal(bb.id, image.resolve("busybox").id)
      -- forced: untagged, but kept (with its layer) for the container
      assert.are.same({ "Untagged: busybox:latest" }, image.remove("busybox", { force = true }))
      assert.is_true(core.exists(image.lower_dirs(bb)[1] .. "/bin/busybox"))
      assert.are.equal(bb.id, image.resolve(bb.id).id)
      -- once the container is gone the image can go
      assert.is_true(core.remove_all(state.dir("containers", cid)))
      assert.are.same({ "Deleted: " .. bb.id }, image.remove(bb.id))
      assert.are.equal(0, count(sroot .. "/layers"))
    end)

    it("lists images newest first and inspects them", function()
      local bb = assert(image.resolve("busybox"))
      local src = root .. "/src"
      make_tree(src)
      sh_ok("tar -cf " .. q(root .. "/t.tar") .. " -C " .. q(src) .. " .")
      local imp = image.import(root .. "/t.tar", "imp")
      local list = image.list()
      assert.are.same({ imp.id, bb.id }, { list[1].id, list[2].id })
      local info = assert(image.inspect("imp"))
      assert.are.equal(imp.id, info.id)
      assert.are.same(image.lower_dirs(imp), info.layer_dirs)
      assert.is_nil(image.inspect("nosuch"))
    end)
  end)
end)

describe("image workflows #root", function()
  local root, sroot

  before_each(function()
    root = U.tmproot()
    sroot = root .. "/state"
  end)
  after_each(function() U.cleanup(root) end)

  local function ctr(...) return U.ctr(sroot, { ... }) end

  it("import, images, tag and rmi behave like docker", function()
    local src = root .. "/src"
    make_tree(src)
    sh_ok("tar -czf " .. q(root .. "/t.tgz") .. " -C " .. q(src) .. " .")
    local out, err, code = ctr("import", root .. "/t.tgz", "app:v1")
    assert.are.equal(0, code, err)
    local id = out:match("^sha256:(%x+)\n$") -- docker's form
    assert.is_not_nil(id, out)
    assert.are.equal(64, #id)

    -- "-" reads the tarball from standard input
    local f = assert(io.open(root .. "/t.tgz", "rb"))
    local stdin_out, stdin_err, stdin_code = U.ctr(sroot, { "import", "-", "fromstdin" }, { stdin = f:read("a") })
    f:close()
    assert.are.equal(0, stdin_code, stdin_err)
    assert.matches("^sha256:%x+\n$", stdin_out)
    assert.are.equal("Untagged: fromstdin:latest\nDeleted: " .. stdin_out:gsub("^sha256:", ""), (ctr("rmi", "fromstdin")))
    assert.are.equal(1, count(sroot .. "/images"))

    out, err, code = ctr("images")
    assert.are.equal(0, code, err)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal(2, #lines, out)
    assert.matches("^REPOSITORY%s+TAG%s+IMAGE ID%s+CREATED%s+SIZE$", lines[1])
    assert.matches("^app%s+v1%s+" .. id:sub(1, 12) .. "%s+.* ago%s+[%d.]+kB$", lines[2])

    out, err, code = ctr("tag", "app:v1", "app:v2")
    assert.are.equal(0, code, err)
    out = ctr("images", "-q")
    assert.are.equal(id:sub(1, 12) .. "\n" .. id:sub(1, 12) .. "\n", out)

    out, err, code = ctr("rmi", "app:v2")
    assert.are.equal(0, code, err)
    assert.are.equal("Untagged: app:v2\n", out)
    out, err, code = ctr("rmi", "app:v1", "nosuch")
    assert.are.equal(1, code)
    assert.are.equal("Untagged: app:v1\nDeleted: " .. id .. "\n", out)
    assert.are.equal("luac-ctr: no such image: nosuch\n", err)
    assert.are.equal("REPOSITORY   TAG   IMAGE ID   CREATED   SIZE\n", (ctr("images")))
    assert.are.equal(0, count(sroot .. "/layers"))
  end)

  it("exits 125 with one line on bad input and stores nothing", function()
    core.write_file_atomic(root .. "/junk.tar", "junk")
    for _, args in ipairs({
      { "import" },
      { "import", root .. "/missing.tar", "x" },
      { "import", root .. "/junk.tar", "x" },
      { "import", root .. "/junk.tar", "Bad:Name" },
      { "import", "--bogus", root .. "/junk.tar" },
      { "rmi" },
      { "tag", "busybox" },
      { "tag", "busybox", "NOPE" },
    }) do
      local out, err, code = U.ctr(sroot, args)
      local what = table.concat(args, " ")
      assert.are.equal(125, code, what .. ": " .. err)
      assert.are.equal("", out, what)
      assert.matches("^luac%-ctr: [^\n]+\n", err, what)
    end
    assert.are.equal(0, count(sroot .. "/images"))
    assert.are.equal(0, count(sroot .. "/layers"))
    assert.are.equal(0, count(sroot .. "/tmp"))
  end)
end)
