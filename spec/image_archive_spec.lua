-- save and load against podman: luac-ctr save -> podman load -> podman run
-- (on luac-runc) sees a commit's deletion; podman save (docker-archive and
-- oci-archive) -> luac-ctr load -> run; hostile archives (a path out of
-- the archive, a tampered layer) are refused and leave nothing. podman
-- runs with its own storage in a temporary directory and a CONTAINERS_CONF
-- setting default_ulimits (as spec/runc_podman_spec.lua explains).
local U = require "spec_util"
local core = require "ctr.core"

local q = U.q
local RUNC = U.srcdir .. "/" .. U.build .. "/luac-runc"
local tmp, root, podman_cmd

local sh_ok = U.sh_ok

local function podman(args) return sh_ok(podman_cmd .. " " .. args) end

local function ctr_ok(args)
  local out, err, code = U.ctr(root, args)
  assert(code == 0, ("luac-ctr %s failed (%d):\n%s%s"):format(table.concat(args, " "), code, out, err))
  return out
end

local function count(dir)
  local t = core.readdir(dir)
  return t and #t or 0
end

setup(function()
  tmp = U.tmproot()
  assert(core.write_file_atomic(tmp .. "/containers.conf", table.concat({
    "[containers]", 'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
    "[engine]", 'cgroup_manager = "cgroupfs"', 'events_logger = "file"', "" }, "\n")))
  podman_cmd = "CONTAINERS_CONF=" .. q(tmp .. "/containers.conf") .. " podman --root " .. q(tmp .. "/storage") ..
    " --runroot " .. q(tmp .. "/runroot") .. " --tmpdir " .. q(tmp .. "/tmpdir") ..
    " --network-config-dir " .. q(tmp .. "/net") ..
    " --storage-driver vfs --cgroup-manager cgroupfs --runtime " .. q(RUNC)
  sh_ok("mkdir -p " .. q(tmp .. "/rootfs") .. " && cd " .. q(tmp .. "/rootfs") .. " && mkdir -p bin etc tmp && " ..
    "cp /bin/busybox bin/ && for a in sh cat ls echo; do ln -s busybox bin/$a; done && " ..
    "echo keep > etc/kept && echo gone > etc/doomed && tar -cf ../bb.tar .")
end)

teardown(function()
  if podman_cmd then U.sh(podman_cmd .. " rm -af -t 0") end
  U.cleanup(tmp)
end)

describe("save and load #root", function()
  before_each(function() root = U.tmproot() .. "/state" end)
  after_each(function()
    U.rm_all(root)
    U.cleanup(root:gsub("/state$", ""))
  end)

  it("saves a commit that podman loads and runs (deletion kept)", function()
    ctr_ok({ "import", "-c", "ENV PATH=/bin", "-c", "CMD [\"cat\", \"/etc/kept\"]", tmp .. "/bb.tar", "base:1" })
    ctr_ok({ "run", "--name", "c1", "base:1", "sh", "-c", "rm /etc/doomed; echo made > /etc/new" })
    ctr_ok({ "commit", "c1", "saved/app:2" })
    ctr_ok({ "save", "-o", tmp .. "/ours.tar", "saved/app:2" })
    assert.matches("Loaded image", podman("load -i " .. q(tmp .. "/ours.tar")))
    local out = podman("run --rm --network none saved/app:2 sh -c " ..
      q("cat /etc/kept /etc/new; ls /etc/doomed 2>/dev/null || echo absent"))
    assert.are.equal("keep\nmade\nabsent\n", out)
    -- and it loads back here (the OCI layout of the same archive)
    local root2 = root .. "2"
    local o2, e2, c2 = U.ctr(root2, { "load", "-i", tmp .. "/ours.tar" })
    assert.are.equal(0, c2, o2 .. e2)
    assert.are.equal("Loaded image: saved/app:2\n", o2)
    o2 = U.ctr(root2, { "run", "--rm", "saved/app:2", "cat", "/etc/new" })
    assert.are.equal("made\n", o2)
    U.rm_all(root2)
    U.cleanup(root2)
  end)

  it("loads podman's docker-archive and oci-archive saves", function()
    podman("import " .. q(tmp .. "/bb.tar") .. " localhost/pod:1")
    podman("save -o " .. q(tmp .. "/pd.tar") .. " localhost/pod:1")
    podman("save --format oci-archive -o " .. q(tmp .. "/po.tar") .. " localhost/pod:1")
    assert.are.equal("Loaded image: localhost/pod:1\n", ctr_ok({ "load", "-i", tmp .. "/pd.tar" }))
    assert.are.equal("keep\n", ctr_ok({ "run", "--rm", "localhost/pod:1", "/bin/cat", "/etc/kept" }))
    ctr_ok({ "rmi", "localhost/pod:1" })
    assert.are.equal(0, count(root .. "/layers"))
    assert.are.equal("", ctr_ok({ "load", "-q", "-i", tmp .. "/po.tar" }))
    assert.are.equal("keep\n", ctr_ok({ "run", "--rm", "localhost/pod:1", "/bin/cat", "/etc/kept" }))
    -- on a terminal, a row per layer before the image (docker's client shows
    -- its progress only there)
    ctr_ok({ "rmi", "localhost/pod:1" })
    local p = U.pty(root, { "load", "-i", tmp .. "/pd.tar" })
    local code = p:wait(60)
    while p:pump(0.05) do end
    p:close()
    assert.are.equal(0, code, p.buf)
    assert.matches("%x+: Loaded layer.*Loaded image: localhost/pod:1", p.buf)
  end)

  it("refuses hostile archives and stores nothing", function()
    local bad = tmp .. "/bad"
    sh_ok("rm -rf " .. q(bad) .. " && mkdir -p " .. q(bad) .. " && cd " .. q(bad) .. " && " ..
      "echo '[{\"Config\":\"../../etc/passwd\",\"RepoTags\":[\"x:1\"],\"Layers\":[]}]' > manifest.json && " ..
      "tar -cf ../bad1.tar manifest.json")
    local _, err, code = U.ctr(root, { "load", "-i", tmp .. "/bad1.tar" })
    assert.are_not.equal(0, code)
    assert.matches("%.%.", err)
    -- a layer whose content does not match its name
    ctr_ok({ "import", tmp .. "/bb.tar", "t:1" })
    ctr_ok({ "save", "-o", tmp .. "/t.tar", "t:1" })
    ctr_ok({ "rmi", "t:1" })
    sh_ok("rm -rf " .. q(bad) .. " && mkdir -p " .. q(bad) .. " && tar -C " .. q(bad) .. " -xf " ..
      q(tmp .. "/t.tar") .. " && cd " .. q(bad) .. " && for f in blobs/sha256/*; do " ..
      "if [ $(stat -c %s $f) -gt 100000 ]; then printf X | dd of=$f bs=1 seek=5000 conv=notrunc 2>/dev/null; fi; " ..
      "done && rm manifest.json && tar -cf ../bad2.tar .")
    _, err, code = U.ctr(root, { "load", "-i", tmp .. "/bad2.tar" })
    assert.are_not.equal(0, code)
    assert.matches("digest mismatch", err)
    assert.are.equal(0, count(root .. "/layers"))
    assert.are.equal(0, count(root .. "/images"))
    assert.are.equal(0, count(root .. "/tmp"))
  end)
end)
