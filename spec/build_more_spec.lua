-- build (#18), the polish: a build interrupted (SIGINT, SIGTERM by pid)
-- during a RUN ends 130/143 and leaves nothing; COPY onto symlinks of the
-- image stays inside it (compared with buildah bud when installed); the
-- live tty progress (through a pty) and the unchanged plain one; the build
-- cache in system df, builder prune, image prune, kept while a build runs;
-- content-addressed image ids.
local U = require "spec_util"
local core = require "ctr.core"

local q = U.q
local tmp, root, ctx

local sh_ok = U.sh_ok

local function ctr(...) return U.ctr(root, { ... }) end
local function ok(...)
  local out, err, code = ctr(...)
  assert(code == 0, ("luac-ctr %s failed (%d):\n%s%s"):format(table.concat({ ... }, " "), code, out, err))
  return out, err
end

local write = U.write_file

local function count(dir) return #(core.readdir(dir) or {}) end

-- The launcher in the background (build args), output to a file: its pid.
local function spawn(args, outf, r)
  local pid = core.fork()
  if pid == 0 then
    local fd = core.open(outf, "wronly,creat,trunc", 420)
    core.dup2(fd, 1); core.dup2(fd, 2)
    local null = core.open("/dev/null", "rdonly")
    core.dup2(null, 0)
    local argv = { U.launcher }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    core.execve(U.launcher, argv, { "LUAC_CTR_ROOT=" .. (r or root), "PATH=/usr/sbin:/usr/bin:/sbin:/bin" })
    core._exit(99)
  end
  return pid
end

local function wait_code(pid, timeout)
  local deadline = core.clock("monotonic") + timeout
  while core.clock("monotonic") < deadline do
    local p, how, code = core.waitpid(pid, "nohang")
    if p == pid then return how == "killed" and 128 + code or code end
    core.sleep(0.05)
  end
  core.kill(pid, "KILL")
  core.waitpid(pid)
  return nil
end

setup(function()
  tmp = U.tmproot()
  root = tmp .. "/root"
  ctx = tmp .. "/ctx"
  sh_ok("mkdir -p " .. q(tmp .. "/rootfs") .. " && cd " .. q(tmp .. "/rootfs") .. " && mkdir -p bin etc tmp && " ..
    "cp /bin/busybox bin/ && for a in sh cat ls echo mkdir true sleep find; do ln -s busybox bin/$a; done && " ..
    "echo 'root:x:0:0:root:/root:/bin/sh' > etc/passwd && tar -cf ../bb.tar .")
  -- the base by its content id (load): the same in every root that loads it
  local r0 = tmp .. "/r0"
  assert(select(3, U.ctr(r0, { "import", tmp .. "/bb.tar", "bbbase:latest" })) == 0)
  assert(select(3, U.ctr(r0, { "save", "-o", tmp .. "/base.tar", "bbbase:latest" })) == 0)
  ok("load", "-i", tmp .. "/base.tar")
  write(ctx .. "/f", "payload\n")
end)

teardown(function() U.cleanup(tmp) end)

describe("build, polished", function()
  it("SIGINT/SIGTERM during a RUN: exits 130/143, no container, mount, cgroup, layer or temp dir", function()
    write(ctx .. "/Containerfile", "FROM bbbase\nRUN echo started; sleep 30; echo made > /x\n")
    for _, s in ipairs({ { "INT", 130 }, { "TERM", 143, "-q" } }) do
      local layers, imgs = count(root .. "/layers"), count(root .. "/images")
      local outf = tmp .. "/intr.out"
      local t0 = core.clock("monotonic")
      local pid = spawn({ "build", s[3] or "--no-cache", "--no-cache", "--network", "none", ctx }, outf)
      local ids
      local up = U.wait_for(function()
        ids = U.container_ids(root)
        -- -q keeps the output: its container's process is what tells it runs
        local st = #ids == 1 and require("ctr.state").read_json(root .. "/containers/" .. ids[1] .. "/state.json")
        return (s[3] and st and st.pid or (core.read_file(outf) or ""):find("started", 1, true)) and #ids == 1
      end, 20)
      if not up then core.kill(pid, "KILL"); core.waitpid(pid) end
      assert.is_truthy(up, core.read_file(outf))
      if s[3] then core.sleep(0.3) end
      core.kill(pid, s[1])
      local code = wait_code(pid, 20)
      assert.equal(s[2], code, core.read_file(outf))
      assert.is_true(core.clock("monotonic") - t0 < 25) -- not the 30 s of the sleep
      assert.matches(s[1] == "INT" and "interrupted" or "terminated", core.read_file(outf))
      assert.same({}, U.container_ids(root))
      assert.same({}, U.cgroup_dirs(ids[1]))
      assert.same({}, U.mounts_under(root))
      assert.same({}, core.readdir(root .. "/tmp") or {})
      assert.equal(layers, count(root .. "/layers"))
      assert.equal(imgs, count(root .. "/images"))
    end
  end)

  it("COPY onto symlinks of the image (to /etc, to host paths) lands inside the image, as buildah's", function()
    local hostdir = tmp .. "/hostdir"
    sh_ok("mkdir -p " .. q(hostdir) .. " && cp -a " .. q(tmp .. "/rootfs") .. " " .. q(tmp .. "/symfs") ..
      " && cd " .. q(tmp .. "/symfs") .. " && ln -s /etc dst && ln -s " .. q(hostdir) .. " abs && ln -s " ..
      q("../../../../../.." .. hostdir) .. " rel && tar -cf ../sym.tar .")
    ok("import", tmp .. "/sym.tar", "symimg:1")
    local sctx = tmp .. "/sctx"
    write(sctx .. "/f", "payload\n")
    write(sctx .. "/Containerfile", "FROM symimg:1\nCOPY f /dst/\nCOPY f /abs/\nCOPY f /rel/x\nCOPY f /abs/sub/deep\n")
    ok("build", "-q", "--network", "none", "-t", "symout:1", sctx)
    assert.same({}, core.readdir(hostdir)) -- nothing on the host
    local list = "find ./etc/f ./abs ./dst ./rel ." .. hostdir .. " -printf '%p %y %m %s %l\\n' | sort; true" -- (U.sh's </dev/null goes to the last command)
    ok("run", "--name", "sym", "--network", "none", "symout:1", "true")
    ok("export", "-o", tmp .. "/sym-out.tar", "sym")
    ok("rm", "sym")
    sh_ok("mkdir -p " .. q(tmp .. "/symx") .. " && tar -xpf " .. q(tmp .. "/sym-out.tar") .. " -C " .. q(tmp .. "/symx"))
    local ours = sh_ok("cd " .. q(tmp .. "/symx") .. " && " .. list)
    assert.matches("./etc/f f 644 8", ours, 1, true)
    assert.matches("./abs l 777 %d+ " .. hostdir:gsub("%p", "%%%0"), ours)
    assert.matches("." .. hostdir .. "/f f 644 8", ours, 1, true)
    assert.matches("." .. hostdir .. "/x f 644 8", ours, 1, true)
    assert.matches("." .. hostdir .. "/sub/deep f 644 8", ours, 1, true)
    if select(3, U.sh("command -v buildah")) ~= 0 then print("SKIP: buildah is not installed"); return end
    local bcmd = "CONTAINERS_CONF=" .. q(tmp .. "/containers.conf") .. " buildah --root " .. q(tmp .. "/bstorage") ..
      " --runroot " .. q(tmp .. "/brunroot") .. " --storage-driver vfs"
    write(tmp .. "/containers.conf", '[containers]\ndefault_ulimits = ["nofile=1024:1024"]\n[engine]\n' ..
      'cgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
    sh_ok(bcmd .. " from --name w scratch >/dev/null && " .. bcmd .. " add w " .. q(tmp .. "/sym.tar") .. " / >/dev/null && "
      .. bcmd .. " commit -q w localhost/symimg:1 >/dev/null && " .. bcmd .. " rm w >/dev/null")
    sh_ok("cd " .. q(sctx) .. " && " .. bcmd .. " bud --isolation chroot -t symout:1 . >/dev/null 2>&1")
    local mnt = sh_ok(bcmd .. " from --name cmp symout:1 >/dev/null && " .. bcmd .. " mount cmp"):gsub("%s+$", "")
    local theirs = sh_ok("cd " .. q(mnt) .. " && " .. list)
    sh_ok(bcmd .. " umount cmp >/dev/null && " .. bcmd .. " rm cmp >/dev/null && " .. bcmd .. " rmi -af >/dev/null")
    assert.same({}, core.readdir(hostdir))
    assert.equal(theirs, ours)
  end)

  it("draws a live view on a terminal; plain lines without one", function()
    write(ctx .. "/Containerfile", "FROM bbbase\nRUN for i in 1 2 3 4 5 6 7 8 9; do echo out-$i; sleep 0.1; done\n" ..
      "COPY f /app/f\nCMD [\"cat\", \"/app/f\"]\n")
    local p = U.pty(root, { "build", "--no-cache", "--network", "none", "-t", "tty:1", ctx })
    p:expect("[2/4] RUN for i in", 30)
    p:expect("out-9", 30)
    p:expect("built in", 30)
    p:expect("Successfully tagged tty:1", 30)
    assert.equal(0, p:wait(30))
    local buf = p.buf
    assert.matches("\27%[%d+A\27%[J", buf) -- redrawn in place
    assert.matches(" => %[3/4%] COPY f /app/f +%d+%.%ds", buf)
    assert.not_matches("STEP 2/4", buf, 1, true)
    -- a cached build says so; --progress plain on a terminal: the lines
    p = U.pty(root, { "build", "--network", "none", "-t", "tty:1", ctx })
    p:expect("CACHED", 30)
    assert.equal(0, p:wait(30))
    p = U.pty(root, { "build", "--progress", "plain", "--network", "none", "-t", "tty:1", ctx })
    p:expect("STEP 2/4: RUN", 30)
    assert.equal(0, p:wait(30))
    assert.not_matches("\27[", p.buf, 1, true)
    local out = ok("build", "--no-cache", "--network", "none", "-t", "tty:1", ctx)
    assert.matches("^STEP 1/4: FROM bbbase\nSTEP 2/4: RUN [^\n]*\nout%-1\n", out)
    assert.not_matches("\27", out, 1, true)
    -- a failing step on a terminal: its output stays, the error follows
    write(tmp .. "/fail.cf", "FROM bbbase\nRUN echo fail-out-1; echo fail-out-2; false\n")
    p = U.pty(root, { "build", "-f", tmp .. "/fail.cf", "--network", "none", ctx })
    p:expect("ERROR", 30)
    p:expect("fail-out-2", 30)
    p:expect("step 2/2", 30)
    assert.equal(1, p:wait(30))
    -- Ctrl-C (SIGINT) on a terminal: the view ends, the build too
    write(tmp .. "/sleep.cf", "FROM bbbase\nRUN echo sleeping-now; sleep 30\n")
    p = U.pty(root, { "build", "-f", tmp .. "/sleep.cf", "--no-cache", "--network", "none", ctx })
    p:expect("\27[2m   sleeping-now", 30) -- its output, drawn
    core.kill(p.pid, "INT")
    p:expect("ERROR", 30)
    assert.equal(130, p:wait(30))
    assert.same({}, U.container_ids(root))
  end)

  it("counts, prunes and protects the build cache", function()
    local main = root
    root = tmp .. "/rc" -- a root of its own: the counts are its builds'
    ok("load", "-i", tmp .. "/base.tar")
    write(ctx .. "/Containerfile", "FROM bbbase\nRUN echo a > /a\nCOPY f /f\nCMD [\"true\"]\n")
    ok("build", "-q", "--network", "none", "-t", "keep:1", ctx)
    write(tmp .. "/gone.cf", "FROM bbbase\nRUN echo b > /b\nRUN echo c > /c\n")
    ok("build", "-q", "-f", tmp .. "/gone.cf", "--network", "none", "-t", "gone:1", ctx)
    local listed = ok("images")
    assert.equal(4, select(2, listed:gsub("\n", ""))) -- header, bbbase, keep, gone: no intermediate image
    local df = ok("system", "df")
    assert.matches("\nBuild Cache%s+4%s+4%s", df)
    ok("rmi", "gone:1") -- its two entries are dangling now
    assert.matches("\nBuild Cache%s+4%s+2%s", ok("system", "df"))
    assert.matches("Build cache usage: %d", ok("system", "df", "-v"))
    local _, err, code = ctr("builder", "prune")
    assert.equal(125, code)
    assert.matches("use %-f", err)
    local out = ok("builder", "prune", "-f")
    assert.matches("Deleted build cache objects:\n%x+\n%x+\n\nTotal reclaimed space: [1-9]", out)
    assert.matches("\nBuild Cache%s+2%s+2%s", ok("system", "df"))
    assert.equal(2, select(2, ok("build", "--network", "none", "-t", "keep:1", ctx):gsub("Using cache", "")))
    ok("image", "prune") -- (not -a): keeps the entries in use
    assert.matches("\nBuild Cache%s+2%s+2%s", ok("system", "df"))
    ok("rmi", "keep:1") -- dangling now, but a build runs: they stay
    write(tmp .. "/slow.cf", "FROM bbbase\nRUN echo slow; sleep 4\n")
    local outf = tmp .. "/slow.out"
    local pid = spawn({ "build", "--no-cache", "-f", tmp .. "/slow.cf", "--network", "none", "-t", "slow:1", ctx }, outf)
    assert.is_truthy(U.wait_for(function() return (core.read_file(outf) or ""):find("slow\n", 1, true) end, 20))
    local pout, perr = ok("builder", "prune", "-f")
    assert.matches("a build is running", perr, 1, true)
    assert.matches("Total reclaimed space: 0B", pout, 1, true)
    ok("image", "prune")
    ok("system", "prune", "-f")
    assert.matches("\nBuild Cache%s+2%s+0%s", ok("system", "df"))
    assert.equal(0, wait_code(pid, 30), core.read_file(outf))
    assert.matches("\nBuild Cache%s+3%s+1%s", ok("system", "df")) -- and slow's RUN
    ok("builder", "prune", "-f")
    assert.matches("\nBuild Cache%s+1%s+1%s", ok("system", "df"))
    ok("builder", "prune", "-a", "-f")
    assert.matches("\nBuild Cache%s+0%s+0%s+0B%s+0B\n", ok("system", "df"))
    ok("run", "--rm", "--network", "none", "slow:1", "true") -- its layers stay
    assert.same({}, core.readdir(root .. "/tmp") or {})
    root = main
  end)

  it("gives a build a content id: the same file, context and base give the same image", function()
    write(ctx .. "/Containerfile", "FROM bbbase\nCOPY f /app/f\nENV A=1\nWORKDIR /w\nCMD [\"cat\", \"/app/f\"]\n")
    local a = ok("build", "-q", "--no-cache", ctx)
    assert.equal(a, ok("build", "-q", "--no-cache", ctx))
    assert.equal(a, ok("build", "-q", ctx))
    -- another state root with the same base (loaded: its content id)
    local r2 = tmp .. "/r2"
    assert(select(3, U.ctr(r2, { "load", "-i", tmp .. "/base.tar" })) == 0)
    local out2, err2, code2 = U.ctr(r2, { "build", "-q", "--no-cache", ctx })
    assert.equal(0, code2, err2)
    assert.equal(a, out2)
    U.cleanup(r2)
    write(ctx .. "/f", "payload 2\n")
    local b = ok("build", "-q", ctx)
    assert.not_equal(a, b)
    write(ctx .. "/f", "payload\n")
    assert.equal(a, ok("build", "-q", ctx))
    -- a RUN's output is its own: without the cache, a new image (as docker's)
    write(tmp .. "/run.cf", "FROM bbbase\nRUN echo r > /r\n")
    local r1 = ok("build", "-q", "-f", tmp .. "/run.cf", "--network", "none", ctx)
    assert.equal(r1, ok("build", "-q", "-f", tmp .. "/run.cf", "--network", "none", ctx))
    assert.not_equal(r1, ok("build", "-q", "--no-cache", "-f", tmp .. "/run.cf", "--network", "none", ctx))
  end)
end)
