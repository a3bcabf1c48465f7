-- pull (and the content-addressed store) against a REAL registry: Debian's
-- docker-registry serving on a random 127.0.0.1 port from a temporary
-- storage dir, filled by skopeo from OCI layouts umoci builds here out of
-- files this spec makes (busybox-static): two layers with a deletion, OCI
-- and docker schema 2 manifests, a multi-platform index, a tampered blob.
-- Run inside a private network namespace (as tools/test.sh does): all
-- traffic stays on its loopback. Only the registry pid started here is
-- killed.
local U = require "spec_util"
local core = require "ctr.core"

local q = U.q

local tmp, port, reg_pid, root

local sh_ok = U.sh_ok

local function count(dir)
  local t = core.readdir(dir)
  return t and #t or 0
end

local function reg() return "127.0.0.1:" .. port end

-- Start a registry (config lines extra added) on a random port, storage
-- in tmp/<name>; retries when the port is taken. Returns pid, port.
local function start_registry(name, extra, probe)
  for _ = 1, 5 do
    local p = math.random(20000, 60000)
    local cfg = tmp .. "/" .. name .. ".yml"
    assert(core.write_file_atomic(cfg, table.concat({
      "version: 0.1", "log:", "  level: error", "storage:", "  filesystem:",
      "    rootdirectory: " .. tmp .. "/" .. name, "  delete:", "    enabled: true",
      "http:", "  addr: 127.0.0.1:" .. p, table.concat(extra or {}, "\n"), "" }, "\n")))
    local f = assert(io.popen("docker-registry serve " .. q(cfg) .. " >" .. q(cfg .. ".log") .. " 2>&1 & echo $!"))
    local pid = tonumber(f:read("l"))
    f:close()
    local up = U.wait_for(function()
      local _, _, code = U.sh("curl -sS -o /dev/null " .. (probe or "http") .. "://127.0.0.1:" .. p .. "/v2/ -k")
      return code == 0
    end, 10)
    if up then return pid, p end
    core.kill(pid, "KILL")
    core.waitpid(pid)
  end
  error("docker-registry did not start: " .. (core.read_file(tmp .. "/" .. name .. ".yml.log") or ""))
end

local function skopeo(src, dst, extra)
  sh_ok("skopeo copy -q --dest-tls-verify=false " .. (extra or "") .. " oci:" .. q(tmp .. "/lay:" .. src) ..
    " docker://" .. reg() .. "/" .. dst)
end

-- OCI layout tmp/lay: v1 (busybox, /etc/deleted, /etc/kept), v2 (v1 minus
-- /etc/deleted, plus /etc/added, config Cmd/Env/WorkingDir), arm (v2 for
-- arm64), multi (an index of v2 and arm), tamper (one layer of its own).
local function build_images()
  local L = q(tmp .. "/lay")
  local b1, b2, b3 = q(tmp .. "/b1"), q(tmp .. "/b2"), q(tmp .. "/b3")
  sh_ok("umoci init --layout " .. L .. " && umoci new --image " .. L .. ":base")
  sh_ok("umoci unpack --image " .. L .. ":base " .. b1 .. " >/dev/null && cd " .. b1 .. "/rootfs && " ..
    "mkdir -p bin etc tmp && cp /bin/busybox bin/ && ln -s busybox bin/sh && ln -s busybox bin/cat && " ..
    "ln -s busybox bin/ls && echo gone > etc/deleted && echo keep > etc/kept")
  sh_ok("umoci repack --image " .. L .. ":v1 " .. b1)
  sh_ok("umoci unpack --image " .. L .. ":v1 " .. b2 .. " >/dev/null && rm " .. b2 .. "/rootfs/etc/deleted && " ..
    "echo new > " .. b2 .. "/rootfs/etc/added && umoci repack --image " .. L .. ":v2 " .. b2)
  sh_ok("umoci config --image " .. L .. ":v2 --config.cmd cat --config.cmd kept " ..
    "--config.env PATH=/bin --config.env FOO=bar --config.workingdir /etc --config.label team=blue " ..
    "--config.volume /data --config.exposedports 8080/tcp --config.stopsignal SIGUSR1")
  sh_ok("umoci config --image " .. L .. ":v2 --tag arm --architecture arm64 --config.env ARCH=arm64")
  sh_ok("umoci unpack --image " .. L .. ":base " .. b3 .. " >/dev/null && mkdir -p " .. b3 ..
    "/rootfs/x && head -c 100000 /dev/urandom > " .. b3 .. "/rootfs/x/blob && umoci repack --image " .. L ..
    ":tamper " .. b3)
  -- the multi-platform index, written into the layout by hand
  local index = assert(require("ctr.json").decode(assert(core.read_file(tmp .. "/lay/index.json"))))
  local by = {}
  for _, m in ipairs(index.manifests) do by[m.annotations["org.opencontainers.image.ref.name"]] = m end
  local http = require "ctr.http"
  local mi = ('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[' ..
    '{"mediaType":"%s","digest":"%s","size":%d,"platform":{"os":"linux","architecture":"arm64"}},' ..
    '{"mediaType":"%s","digest":"%s","size":%d,"platform":{"os":"linux","architecture":"amd64"}}]}'):format(
    by.arm.mediaType, by.arm.digest, by.arm.size, by.v2.mediaType, by.v2.digest, by.v2.size)
  local h = http.sha256(mi)
  assert(core.write_file_atomic(tmp .. "/lay/blobs/sha256/" .. h, mi))
  local text = assert(core.read_file(tmp .. "/lay/index.json"))
  text = text:gsub("%]%s*}%s*$", (',{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s",' ..
    '"size":%d,"annotations":{"org.opencontainers.image.ref.name":"multi"}}]}'):format(h, #mi))
  assert(core.write_file_atomic(tmp .. "/lay/index.json", text))
  skopeo("v2", "test/app:oci")
  skopeo("v2", "test/app:v2s2", "--format v2s2")
  skopeo("multi", "test/multi:latest", "--all")
  skopeo("tamper", "test/tamper:latest")
  local b4 = q(tmp .. "/b4")
  sh_ok("umoci unpack --image " .. L .. ":v1 " .. b4 .. " >/dev/null && head -c 20000000 /dev/urandom > " .. b4 ..
    "/rootfs/big && umoci repack --image " .. L .. ":big " .. b4 .. " && rm -rf " .. b4)
  skopeo("big", "test/big:latest")
end

setup(function()
  math.randomseed(os.time() + core.getpid())
  tmp = U.tmproot()
  reg_pid, port = start_registry("storage")
  build_images()
end)

teardown(function()
  if reg_pid then
    core.kill(reg_pid, "TERM")
    core.waitpid(reg_pid)
  end
  U.cleanup(tmp)
end)

local function ctr(args) return U.ctr(root, args) end
local function ctr_ok(args)
  local out, err, code = ctr(args)
  assert(code == 0, ("luac-ctr %s failed (%d):\n%s%s"):format(table.concat(args, " "), code, out, err))
  return out
end

describe("registry #root", function()
  before_each(function() root = U.tmproot() .. "/state" end)
  after_each(function()
    U.rm_all(root)
    U.cleanup(root:gsub("/state$", ""))
  end)

  it("pulls an OCI image with a deleted file and runs it from its config", function()
    local out = ctr_ok({ "pull", reg() .. "/test/app:oci" })
    assert.matches("Pull complete", out)
    assert.matches("Digest: sha256:%x+", out)
    -- the config drives run: Cmd, Env, WorkingDir
    assert.are.equal("keep\n", ctr_ok({ "run", "--rm", reg() .. "/test/app:oci" }))
    local run = ctr_ok({ "run", "--rm", reg() .. "/test/app:oci", "sh", "-c",
      "echo $FOO; pwd; cat /etc/added; ls /etc/deleted 2>&1 || echo absent" })
    assert.matches("^bar\n/etc\nnew\n.*absent\n$", run)
    local img = require("ctr.json").decode(ctr_ok({ "inspect", reg() .. "/test/app:oci" }))[1]
    assert.matches("^sha256:%x+$", img.digest)
    assert.are.equal("blue", img.config.Labels.team)
    assert.is_table(img.config.Volumes["/data"])
    assert.is_table(img.config.ExposedPorts["8080/tcp"])
    assert.are.equal("SIGUSR1", img.config.StopSignal)
    assert.are.equal(reg() .. "/test/app@" .. img.digest, img.repo_digests[1])
    assert.are.equal(2, count(root .. "/layers"))
  end)

  it("redraws one row per layer on a terminal", function()
    local p = U.pty(root, { "pull", reg() .. "/test/app:oci" })
    local code = p:wait(60)
    while p:pump(0.05) do end
    p:close()
    assert.are.equal(0, code, p.buf)
    assert.truthy(p.buf:find("\27[2K", 1, true), p.buf)
    assert.matches("Pull complete", p.buf)
    assert.matches("Digest: sha256:", p.buf)
  end)

  it("shares layers between a docker schema 2 and an OCI pull; -q is quiet", function()
    ctr_ok({ "pull", reg() .. "/test/app:oci" })
    local out = ctr_ok({ "pull", "-q", reg() .. "/test/app:v2s2" })
    assert.are.equal(reg() .. "/test/app:v2s2\n", out)
    assert.are.equal(2, count(root .. "/layers"))
    assert.are.equal("keep\n", ctr_ok({ "run", "--rm", reg() .. "/test/app:v2s2" }))
    out = ctr_ok({ "pull", reg() .. "/test/app:oci" })
    assert.matches("Already exists", out)
    assert.not_matches("Download complete", out)
  end)

  it("picks the platform's entry of a multi-platform index", function()
    ctr_ok({ "pull", reg() .. "/test/multi" })
    local img = require("ctr.json").decode(ctr_ok({ "inspect", reg() .. "/test/multi" }))[1]
    assert.are.equal("amd64", img.architecture)
    ctr_ok({ "pull", "--platform", "linux/arm64", reg() .. "/test/multi:latest" })
    img = require("ctr.json").decode(ctr_ok({ "inspect", reg() .. "/test/multi" }))[1]
    assert.are.equal("arm64", img.architecture)
    local _, err, code = ctr({ "pull", "--platform", "linux/s390x", reg() .. "/test/multi" })
    assert.are_not.equal(0, code)
    assert.matches("no image for platform linux/s390x", err)
  end)

  it("pulls by digest", function()
    ctr_ok({ "pull", reg() .. "/test/app:oci" })
    local img = require("ctr.json").decode(ctr_ok({ "inspect", reg() .. "/test/app:oci" }))[1]
    ctr_ok({ "rmi", reg() .. "/test/app:oci" })
    ctr_ok({ "pull", reg() .. "/test/app@" .. img.digest })
    assert.are.equal("keep\n", ctr_ok({ "run", "--rm", img.id }))
  end)

  it("refuses a tampered layer: digest error, nothing stored", function()
    local out = sh_ok("find " .. q(tmp .. "/storage") .. " -path '*/blobs/sha256/*/data' -size +90k -size -200k")
    local victim
    for path in out:gmatch("[^\n]+") do
      local data = core.read_file(path)
      if data and #data > 90000 and #data < 200000 then victim = path end
    end
    assert(victim, "no tamper layer in the registry storage")
    local data = assert(core.read_file(victim))
    local bad = data:sub(1, 5000) .. string.char((data:byte(5001) + 1) % 256) .. data:sub(5002)
    assert(core.write_file_atomic(victim, bad))
    local _, err, code = ctr({ "pull", reg() .. "/test/tamper" })
    assert.are_not.equal(0, code)
    assert.matches("digest mismatch", err)
    assert.are.equal(0, count(root .. "/layers"))
    assert.are.equal(0, count(root .. "/images"))
    assert.are.equal(0, count(root .. "/tmp"))
    assert.is_nil(core.stat(root .. "/blobs/sha256") and count(root .. "/blobs/sha256") > 0 or nil)
  end)

  it("refuses a compressed layer whose content is not the config's diff_id: nothing stored", function()
    -- an image of its own whose config claims another diff_id for its gzip layer
    local L, b5 = tmp .. "/lay", q(tmp .. "/b5")
    sh_ok("umoci unpack --image " .. q(L) .. ":base " .. b5 .. " >/dev/null && echo liar > " .. b5 ..
      "/rootfs/liar && umoci repack --image " .. q(L) .. ":liar " .. b5 .. " && rm -rf " .. b5)
    local json, http = require "ctr.json", require "ctr.http"
    local function blob(d) return assert(core.read_file(L .. "/blobs/sha256/" .. d:sub(8))) end
    local function put(text)
      local d = "sha256:" .. http.sha256(text)
      assert(core.write_file_atomic(L .. "/blobs/sha256/" .. d:sub(8), text))
      return d, #text
    end
    local index = json.decode(assert(core.read_file(L .. "/index.json")))
    local entry
    for _, m in ipairs(index.manifests) do
      if m.annotations["org.opencontainers.image.ref.name"] == "liar" then entry = m end
    end
    local man = json.decode(blob(entry.digest))
    assert.matches("gzip", man.layers[#man.layers].mediaType)
    local cfg = json.decode(blob(man.config.digest))
    cfg.rootfs.diff_ids[#cfg.rootfs.diff_ids] = "sha256:" .. http.sha256("not this layer")
    man.config.digest, man.config.size = put(json.encode(cfg))
    entry.digest, entry.size = put(json.encode(man))
    assert(core.write_file_atomic(L .. "/index.json", json.encode(index)))
    skopeo("liar", "test/liar:latest")
    local _, err, code = ctr({ "pull", reg() .. "/test/liar" })
    assert.are_not.equal(0, code)
    assert.matches("not the image config's diff_id", err)
    assert.are.equal(0, count(root .. "/images"))
    assert.are.equal(0, count(root .. "/tmp"))
    -- the layers before the lying one may stay (verified, shared); the liar's is not there
    assert.is_nil(core.stat(root .. "/layers/" .. man.layers[#man.layers].digest:sub(8)))
  end)

  it("fails clearly for unknown images, bad references and unreachable registries", function()
    local _, err, code = ctr({ "pull", reg() .. "/test/nope" })
    assert.are_not.equal(0, code)
    assert.matches("manifest unknown", err)
    _, err, code = ctr({ "pull", "Bad:a:b" })
    assert.are.equal(125, code)
    assert.matches("invalid reference format", err)
    _, err, code = ctr({ "pull", "127.0.0.1:1/x" })
    assert.are_not.equal(0, code)
    assert.matches("127.0.0.1:1", err)
  end)

  it("pushes a commit: skopeo and umoci read it, unchanged layers are not sent again, pull back runs", function()
    local src, dst = reg() .. "/test/app:oci", reg() .. "/test/pushed:1"
    ctr_ok({ "pull", src })
    ctr_ok({ "run", "--name", "c1", src, "sh", "-c", "rm /etc/kept; echo changed > /etc/added" })
    ctr_ok({ "commit", "c1", dst })
    local out = ctr_ok({ "push", dst })
    -- the commit's layer is sent (gzip); the two pulled ones are mounted from
    -- test/app, same digests as there
    local _, pushed = out:gsub("Pushed", "")
    local _, mounted = out:gsub("Mounted from test/app", "")
    assert.are.same({ 1, 2 }, { pushed, mounted })
    local digest = out:match("digest: (sha256:%x+)")
    local json = require "ctr.json"
    local info = json.decode(sh_ok("skopeo inspect --tls-verify=false docker://" .. dst))
    local orig = json.decode(sh_ok("skopeo inspect --tls-verify=false docker://" .. src))
    assert.are.equal(digest, info.Digest)
    assert.are.equal(3, #info.Layers)
    assert.are.same({ orig.Layers[1], orig.Layers[2] }, { info.Layers[1], info.Layers[2] })
    local raw = json.decode(sh_ok("skopeo inspect --raw --tls-verify=false docker://" .. dst))
    for _, l in ipairs(raw.layers) do assert.are.equal("application/vnd.oci.image.layer.v1.tar+gzip", l.mediaType) end
    local cfg = json.decode(sh_ok("skopeo inspect --config --raw --tls-verify=false docker://" .. dst))
    local ocfg = json.decode(sh_ok("skopeo inspect --config --raw --tls-verify=false docker://" .. src))
    assert.are.same({ ocfg.rootfs.diff_ids[1], ocfg.rootfs.diff_ids[2] }, { cfg.rootfs.diff_ids[1], cfg.rootfs.diff_ids[2] })
    local back = q(tmp .. "/back")
    sh_ok("rm -rf " .. back .. "* && skopeo copy -q --src-tls-verify=false docker://" .. dst .. " oci:" .. back ..
      ":1 && umoci unpack --image " .. back .. ":1 " .. back .. "-b >/dev/null")
    assert.are.equal("changed\n", core.read_file(tmp .. "/back-b/rootfs/etc/added"))
    assert.is_nil(core.lstat(tmp .. "/back-b/rootfs/etc/kept"))
    out = ctr_ok({ "push", dst })
    assert.matches("Layer already exists", out)
    assert.not_matches("Pushed", out)
    -- podman pulls it and runs it (on luac-runc, its own storage under tmp)
    assert(core.write_file_atomic(tmp .. "/containers.conf", table.concat({ "[containers]",
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]', "[engine]", 'cgroup_manager = "cgroupfs"',
      'events_logger = "file"', "" }, "\n")))
    local podman = "CONTAINERS_CONF=" .. q(tmp .. "/containers.conf") .. " podman --root " .. q(tmp .. "/pod") ..
      " --runroot " .. q(tmp .. "/podrun") .. " --tmpdir " .. q(tmp .. "/podtmp") .. " --network-config-dir " ..
      q(tmp .. "/podnet") .. " --storage-driver vfs --cgroup-manager cgroupfs --runtime " ..
      q(U.srcdir .. "/" .. U.build .. "/luac-runc")
    sh_ok(podman .. " pull -q --tls-verify=false " .. q(dst))
    assert.are.equal("changed\nabsent\n", sh_ok(podman .. " run --rm --network none " .. q(dst) ..
      " sh -c " .. q("cat /etc/added; ls /etc/kept 2>/dev/null || echo absent")))
    U.sh(podman .. " rmi -af")
    ctr_ok({ "rm", "c1" })
    ctr_ok({ "rmi", dst })
    ctr_ok({ "rmi", src })
    ctr_ok({ "pull", dst })
    assert.are.equal("changed\nabsent\n", ctr_ok({ "run", "--rm", dst, "sh", "-c",
      "cat /etc/added; ls /etc/kept 2>/dev/null || echo absent" }))
  end)

  it("has a Lua API: image.pull with progress, Image objects, save/load, prune", function()
    local state = require "ctr.state"
    local image = require "ctr.image"
    state.set_root(root)
    local ok, err = pcall(function()
      local events = {}
      local img = image.pull { ref = reg() .. "/test/app:oci", progress = function(ev) events[#events + 1] = ev.status end }
      assert.are.equal("resolved", events[1])
      assert.are.equal("done", events[#events])
      local t = img:inspect()
      assert.matches("^sha256:%x+$", t.digest)
      assert.are.equal(2, #t.diff_ids)
      img:tag("mine:1")
      assert.are.equal(img.id, image.get("mine:1").id)
      local e = select(2, pcall(image.get, "nope:1"))
      assert.is_true(require("ctr.errors").is(e, "not_found"))
      e = select(2, pcall(image.pull, { ref = "Bad:x:y" }))
      assert.is_true(require("ctr.errors").is(e, "invalid"))
      image.save({ "mine:1" }, tmp .. "/api.tar")
      image.get("mine:1"):remove()
      image.get(reg() .. "/test/app:oci"):remove()
      assert.are.equal(0, count(root .. "/images"))
      assert.are.equal(0, count(root .. "/blobs/sha256"))
      local loaded = image.load(tmp .. "/api.tar")
      assert.are.same({ "mine:1" }, loaded[1].repo_tags)
      loaded[1]:tag("other:2")
      image.get("mine:1"):remove()
      assert.are.equal(1, count(root .. "/images"))
      local digests = ctr_ok({ "images", "--digests" })
      assert.matches("DIGEST", digests)
      image.get("other:2"):remove({ force = true })
      assert.are.same({}, (image.prune()))
    end)
    state.set_root(nil)
    assert(ok, err)
  end)

  it("a pull killed at any point leaves no image; the next pull cleans up and completes", function()
    for _, delay in ipairs({ 0.05, 0.3 }) do
      local env = "LUAC_CTR_ROOT=" .. q(root) .. " "
      local f = assert(io.popen(env .. q(U.launcher) .. " pull -q " .. q(reg() .. "/test/big") ..
        " >/dev/null 2>&1 & echo $!"))
      local pid = tonumber(f:read("l"))
      f:close()
      U.wait_for(function()
        for _, n in ipairs(core.readdir(root .. "/tmp") or {}) do
          if n:match("^pull%-") then return true end
        end
      end, 10)
      core.sleep(delay)
      core.kill(pid, "KILL")
      U.wait_for(function() return not core.kill(pid, 0) end, 5)
      -- an image is there whole or not at all: every layer it names is in place
      for _, n in ipairs(core.readdir(root .. "/images") or {}) do
        local rec = require("ctr.json").decode(assert(core.read_file(root .. "/images/" .. n)))
        for _, l in ipairs(rec.layers) do assert.truthy(core.stat(root .. "/layers/" .. l), l) end
      end
    end
    ctr_ok({ "pull", reg() .. "/test/big" })
    assert.are.equal(0, count(root .. "/tmp"))
    assert.are.equal("keep\n", ctr_ok({ "run", "--rm", reg() .. "/test/big", "cat", "/etc/kept" }))
    assert.are.equal(2, count(root .. "/layers"))
  end)

  it("image prune removes untagged images and what only they used", function()
    ctr_ok({ "pull", reg() .. "/test/app:oci" })
    ctr_ok({ "pull", "--platform", "linux/arm64", reg() .. "/test/multi" })
    assert.are.equal(2, count(root .. "/images"))
    ctr_ok({ "tag", reg() .. "/test/app:oci", reg() .. "/test/multi:latest" }) -- the arm64 image is now untagged
    local out = ctr_ok({ "image", "prune" })
    assert.matches("Total reclaimed: 1 images", out)
    assert.are.equal(1, count(root .. "/images"))
    assert.are.equal(2, count(root .. "/layers")) -- shared with the image kept
    assert.are.equal("keep\n", ctr_ok({ "run", "--rm", reg() .. "/test/multi" }))
    ctr_ok({ "image", "prune", "-a" })
    assert.are.equal(0, count(root .. "/images"))
    assert.are.equal(0, count(root .. "/layers"))
    assert.are.equal(0, count(root .. "/blobs/sha256"))
  end)

  it("stores the layer of a tarball imported twice once", function()
    local tar = tmp .. "/imp.tar"
    sh_ok("tar -C " .. q(tmp .. "/b1/rootfs") .. " -cf " .. q(tar) .. " .")
    ctr_ok({ "import", tar, "imp:1" })
    ctr_ok({ "import", tar, "imp:2" })
    assert.are.equal(1, count(root .. "/layers"))
    assert.are.equal(2, count(root .. "/images"))
    ctr_ok({ "rmi", "imp:1" })
    assert.are.equal(1, count(root .. "/layers"))
    ctr_ok({ "rmi", "imp:2" })
    assert.are.equal(0, count(root .. "/layers"))
  end)
end)

describe("registry with basic auth over TLS #root", function()
  local tls_pid, tls_port, env

  setup(function()
    local d = tmp .. "/tls"
    sh_ok("mkdir -p " .. q(d) .. " && cd " .. q(d) .. " && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem " ..
      "-out cert.pem -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null && " ..
      "htpasswd -Bbn alice s3cret > htpasswd")
    tls_pid, tls_port = start_registry("tlsstore", {
      "  tls:", "    certificate: " .. d .. "/cert.pem", "    key: " .. d .. "/key.pem",
      "auth:", "  htpasswd:", "    realm: test", "    path: " .. d .. "/htpasswd" }, "https")
    local certs = tmp .. "/certs.d/127.0.0.1:" .. tls_port
    sh_ok("mkdir -p " .. q(certs) .. " && cp " .. q(d .. "/cert.pem") .. " " .. q(certs .. "/ca.crt"))
    env = "LUAC_CTR_CERTS_D=" .. q(tmp .. "/certs.d") .. " DOCKER_CONFIG=" .. q(tmp .. "/dockercfg") .. " "
  end)
  teardown(function()
    if tls_pid then
      core.kill(tls_pid, "TERM")
      core.waitpid(tls_pid)
    end
  end)
  before_each(function() root = U.tmproot() .. "/state" end)
  after_each(function()
    U.rm_all(root)
    U.cleanup(root:gsub("/state$", ""))
  end)

  local function run(args, stdin)
    local parts = {}
    for i, a in ipairs(args) do parts[i] = q(a) end
    return U.sh(env .. "LUAC_CTR_ROOT=" .. q(root) .. " " .. q(U.launcher) .. " " .. table.concat(parts, " "),
      { stdin = stdin })
  end

  it("logs in (config.json 0600), pushes and pulls with the credentials, logs out", function()
    local host = "127.0.0.1:" .. tls_port
    local ref = host .. "/private/app:1"
    local out, err, code = run({ "login", "-u", "alice", "-p", "wrong", host })
    assert.are_not.equal(0, code)
    assert.matches("unauthorized", err)
    assert.is_nil(core.stat(tmp .. "/dockercfg/config.json"))
    out, err, code = run({ "login", "-u", "alice", "--password-stdin", host }, "s3cret\n")
    assert.are.equal(0, code, out .. err)
    assert.matches("Login Succeeded", out)
    local st = core.stat(tmp .. "/dockercfg/config.json")
    assert.are.equal(384, st.mode) -- 0600
    local cfg = require("ctr.json").decode(core.read_file(tmp .. "/dockercfg/config.json"))
    assert.are.equal(require("ctr.http").base64("alice:s3cret"), cfg.auths[host].auth)
    sh_ok("tar -C " .. q(tmp .. "/b1/rootfs") .. " -cf " .. q(tmp .. "/p.tar") .. " .")
    out, err, code = run({ "import", tmp .. "/p.tar", ref })
    assert.are.equal(0, code, out .. err)
    out, err, code = run({ "push", ref })
    assert.are.equal(0, code, out .. err)
    run({ "rmi", ref })
    out, err, code = run({ "pull", ref })
    assert.are.equal(0, code, out .. err)
    out = run({ "run", "--rm", ref, "/bin/cat", "/etc/kept" })
    assert.are.equal("keep\n", out)
    out, err, code = run({ "logout", host })
    assert.are.equal(0, code, out .. err)
    run({ "rmi", ref })
    out, err, code = run({ "pull", ref })
    assert.are_not.equal(0, code)
    assert.matches("authentication required", err)
    -- with another CA the server's certificate is refused
    local other = tmp .. "/certs2.d/" .. host
    sh_ok("mkdir -p " .. q(other) .. " && cd " .. q(other) .. " && openssl req -x509 -newkey rsa:2048 -nodes " ..
      "-keyout k.pem -out ca.crt -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null")
    out, err, code = U.sh("LUAC_CTR_CERTS_D=" .. q(tmp .. "/certs2.d") .. " LUAC_CTR_ROOT=" ..
      q(root) .. " " .. q(U.launcher) .. " pull " .. q(ref))
    assert.are_not.equal(0, code)
    assert.matches("[Cc]ertificate", err)
  end)
end)

describe("layer whiteouts #root", function()
  local archive = require "ctr.archive"
  local dir
  before_each(function() dir = U.tmproot() end)
  after_each(function() U.cleanup(dir) end)

  -- a tar holding a symlink "lnk" -> outside and then the entry rel
  local function evil_tar(rel, n)
    local src = "src" .. n
    sh_ok("cd " .. q(dir) .. " && mkdir -p " .. src .. " outside out" .. n .. " && ln -s " .. q(dir .. "/outside") ..
      " " .. src .. "/lnk && touch " .. src .. "/f && tar -C " .. src .. " -cf a" .. n .. ".tar lnk && tar -C " ..
      src .. " -rf a" .. n .. ".tar --transform " .. q("s,^f$," .. rel .. ",") .. " f")
    return dir .. "/a" .. n .. ".tar"
  end

  it("applies .wh. entries, skips aufs metadata, and writes them back", function()
    sh_ok("cd " .. q(dir) .. " && mkdir -p src/d out && touch src/d/.wh.gone src/d/.wh..wh..opq src/.wh..wh.plnk " ..
      "src/d/kept && tar -C src -cf a.tar .")
    assert(archive.extract(dir .. "/a.tar", dir .. "/out", { oci = true }))
    local wh = core.lstat(dir .. "/out/d/gone")
    assert.are.equal("chr", wh.type)
    assert.is_nil(core.lstat(dir .. "/out/.wh..wh.plnk"))
    assert.is_nil(core.lstat(dir .. "/out/.wh.plnk"))
    assert.are.equal("y", core.getxattr(dir .. "/out/d", "trusted.overlay.opaque"))
    assert(archive.create(dir .. "/out", dir .. "/b.tar", { oci = true }))
    local names = {}
    for _, e in ipairs(assert(archive.list(dir .. "/b.tar"))) do names[e.path:gsub("/$", "")] = e.type end
    assert.are.equal("file", names["d/.wh.gone"])
    assert.are.equal("file", names["d/.wh..wh..opq"])
    assert.is_nil(names["d/gone"])
  end)

  it("never follows a layer's symlink out of the tree", function()
    local ok, err = archive.extract(evil_tar("lnk/.wh..wh..opq", 1), dir .. "/out1", { oci = true })
    assert.is_nil(ok)
    assert.matches("opaque", err)
    ok = archive.extract(evil_tar("lnk/.wh.victim", 2), dir .. "/out2", { oci = true })
    assert.is_nil(ok)
    assert.are.equal(0, #core.readdir(dir .. "/outside"))
  end)
end)

describe("registry references", function()
  local registry = require "ctr.registry"
  it("follows docker's rules", function()
    local r = registry.parse("busybox")
    assert.are.same({ "docker.io", "library/busybox", "latest", "busybox" }, { r.domain, r.repo, r.tag, r.name })
    r = registry.parse("user/app:1.0")
    assert.are.same({ "docker.io", "user/app", "1.0", "user/app:1.0" }, { r.domain, r.repo, r.tag, r.local_ref })
    r = registry.parse("localhost:5000/a/b:v")
    assert.are.same({ "localhost:5000", "a/b", "v" }, { r.domain, r.repo, r.tag })
    r = registry.parse("quay.io/x/y@sha256:" .. ("a"):rep(64))
    assert.are.same({ "quay.io", "x/y", nil, "sha256:" .. ("a"):rep(64) }, { r.domain, r.repo, r.tag, r.digest })
    for _, bad in ipairs({ "", "UP", "a@sha256:12", "a@md5:" .. ("a"):rep(32), "a/../b", "a:b:c", "x/-y" }) do
      assert.has_error(function() registry.parse(bad) end)
    end
  end)

  it("uses plain HTTP only for loopback and listed registries, HTTPS when certs.d has a CA", function()
    local core2 = require "ctr.core"
    local d = U.tmproot()
    assert(core2.write_file_atomic(d .. "/reg.json", '{"insecure": ["myhost:5000"]}'))
    assert(os.execute("mkdir -p " .. q(d .. "/certs/127.0.0.2:443") .. " && touch " .. q(d .. "/certs/127.0.0.2:443/ca.crt")))
    local code = ("package.path=%q..package.path; package.cpath=%q..package.cpath; "):format(
      U.srcdir .. "/lua/?.lua;", U.srcdir .. "/" .. U.build .. "/?.so;") .. [[
      local r = require "ctr.registry"
      local function scheme(ref) return r.client(r.parse(ref), { creds = false }).scheme end
      print(scheme("127.0.0.1:5000/a"), scheme("myhost:5000/a"), scheme("other:5000/a"), scheme("busybox"),
        scheme("127.0.0.2:443/a"))]]
    local out = sh_ok("LUAC_CTR_REGISTRIES=" .. q(d .. "/reg.json") .. " LUAC_CTR_CERTS_D=" .. q(d .. "/certs") ..
      " lua5.4 -e " .. q(code))
    U.cleanup(d)
    assert.are.equal("http\thttp\thttps\thttps\thttps\n", out)
  end)
end)
