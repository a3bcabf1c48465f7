-- The registry client's bearer-token flow against a REAL registry: Debian's
-- docker-registry (distribution 2.8) with `auth: token:`, as Docker Hub,
-- GHCR and Harbor work. The registry verifies the tokens itself (RS256, the
-- signing certificate in the JWT's x5c, checked against its
-- rootcertbundle); the token server is spec/token_issuer.lua behind socat
-- on a random 127.0.0.1 port, granting exactly what its acl allows and
-- logging every token it issues. skopeo fills the registry through the same
-- token server. Run inside a private network namespace (as tools/test.sh
-- does); only the pids started here are killed.
local U = require "spec_util"
local core = require "ctr.core"
local json = require "ctr.json"

local q = U.q
local tmp, cfg, reg_pid, iss_pid, host, root, dcfg, issuer_cmd, issuer_env
local env = "" -- more environment for the launcher

local sh_ok = U.sh_ok

local function count(dir)
  local t = core.readdir(dir)
  return t and #t or 0
end

-- the issuer's config (rewritten by the expiry spec; read on every request)
local function write_cfg(over)
  local c = {}
  for k, v in pairs(cfg) do c[k] = v end
  for k, v in pairs(over or {}) do c[k] = v end
  assert(core.write_file_atomic(tmp .. "/issuer.json", json.encode(c)))
end

-- the tokens issued so far: {user=, asked={...}, granted={...}}
local function tokens()
  local t = {}
  for line in (core.read_file(tmp .. "/tokens.log") or ""):gmatch("[^\n]+") do t[#t + 1] = json.decode(line) end
  return t
end

local function kill(pid)
  if pid then
    core.kill(pid, "TERM")
    core.waitpid(pid)
  end
end

-- Start the command mkcmd(port) on a random port in the background until
-- probe (a path, or a URL with %d for the port) answers; returns pid, port.
local function start(name, mkcmd, probe)
  for _ = 1, 5 do
    local p = math.random(20000, 60000)
    local f = assert(io.popen("exec " .. mkcmd(p) .. " >" .. q(tmp .. "/" .. name .. ".log") .. " 2>&1 & echo $!"))
    local pid = tonumber(f:read("l"))
    f:close()
    if U.wait_for(function()
      local url = probe:find("%d", 1, true) and probe:format(p) or ("http://127.0.0.1:" .. p .. probe)
      local _, _, code = U.sh("curl -sSk -o /dev/null " .. url)
      return code == 0
    end, 10) then
      return pid, p
    end
    kill(pid)
  end
  error(name .. " did not start: " .. (core.read_file(tmp .. "/" .. name .. ".log") or ""))
end

setup(function()
  math.randomseed(os.time() + core.getpid())
  tmp = U.tmproot()
  sh_ok("cd " .. q(tmp) .. " && openssl req -x509 -newkey rsa:2048 -nodes -keyout tok.key -out tok.crt -days 1 " ..
    "-subj /CN=luac-ctr-test-issuer 2>/dev/null")
  local x5c = sh_ok("cd " .. q(tmp) .. " && openssl x509 -in tok.crt -outform DER -out tok.der && base64 -w0 tok.der")
  local full = "pull,push"
  cfg = { issuer = "luac-ctr-test-issuer", service = "luac-ctr-test", key = tmp .. "/tok.key", x5c = x5c,
    expires_in = 300, exp_offset = 0, log = tmp .. "/tokens.log",
    users = { alice = "s3cret", bob = "hunter2", admin = "root-pw" },
    acl = {
      ["test/public"] = { anonymous = "pull", admin = full },
      ["test/private"] = { alice = "pull", admin = full },
      ["test/shared"] = { alice = "pull", admin = full },
      ["test/secret"] = { admin = full },
      ["test/mine"] = { alice = full, bob = "pull" },
      ["test/copy1"] = { alice = full },
      ["test/copy2"] = { alice = full },
    } }
  write_cfg()
  issuer_cmd = "SYSTEM:lua5.4 " .. U.srcdir .. "/spec/token_issuer.lua " .. tmp .. "/issuer.json" -- (no spaces)
  issuer_env = "LUA_PATH=" .. q(U.srcdir .. "/lua/?.lua;;") .. " LUA_CPATH=" .. q(U.srcdir .. "/" .. U.build .. "/?.so;;")
  local iport
  iss_pid, iport = start("issuer", function(p)
    return "env " .. issuer_env .. " socat TCP-LISTEN:" .. p .. ",bind=127.0.0.1,reuseaddr,fork " .. q(issuer_cmd)
  end, "/health")
  -- (the registry answers /v2/ with 401: plain curl succeeds)
  local port
  reg_pid, port = start("registry", function(p)
    assert(core.write_file_atomic(tmp .. "/reg.yml", table.concat({ "version: 0.1", "log:", "  level: error",
      "storage:", "  filesystem:", "    rootdirectory: " .. tmp .. "/storage", "http:", "  addr: 127.0.0.1:" .. p,
      "auth:", "  token:", "    realm: http://127.0.0.1:" .. iport .. "/token", "    service: luac-ctr-test",
      "    issuer: luac-ctr-test-issuer", "    rootcertbundle: " .. tmp .. "/tok.crt", "" }, "\n")))
    return "docker-registry serve " .. q(tmp .. "/reg.yml")
  end, "/v2/")
  host = "127.0.0.1:" .. port
  -- one image (busybox and /etc/kept), copied by skopeo (as admin, through the issuer) to four repositories
  local L, b = q(tmp .. "/lay"), q(tmp .. "/b")
  sh_ok("umoci init --layout " .. L .. " && umoci new --image " .. L .. ":base && umoci unpack --image " .. L ..
    ":base " .. b .. " >/dev/null && cd " .. b .. "/rootfs && mkdir -p bin etc && cp /bin/busybox bin/ && " ..
    "ln -s busybox bin/sh && ln -s busybox bin/cat && echo keep > etc/kept && cd / && umoci repack --image " ..
    L .. ":v1 " .. b)
  for _, repo in ipairs({ "public", "private", "shared", "secret" }) do
    sh_ok("skopeo copy -q --dest-tls-verify=false --dest-creds admin:root-pw oci:" .. L .. ":v1 docker://" ..
      host .. "/test/" .. repo .. ":1")
  end
end)

teardown(function()
  kill(reg_pid)
  kill(iss_pid)
  U.cleanup(tmp)
end)

local function ctr(args, stdin)
  local parts = {}
  for i, a in ipairs(args) do parts[i] = q(a) end
  return U.sh(env .. "DOCKER_CONFIG=" .. q(dcfg) .. " LUAC_CTR_ROOT=" .. q(root) .. " " .. q(U.launcher) .. " " ..
    table.concat(parts, " "), { stdin = stdin })
end
local function ctr_ok(args, stdin)
  local out, err, code = ctr(args, stdin)
  assert(code == 0, ("luac-ctr %s failed (%d):\n%s%s"):format(table.concat(args, " "), code, out, err))
  return out
end
local function login(user, pw) ctr_ok({ "login", "-u", user, "--password-stdin", host }, pw .. "\n") end
local function ref(repo, tag) return host .. "/test/" .. repo .. ":" .. (tag or "1") end

-- Each test: a fresh directory with its state root and its DOCKER_CONFIG.
local function fresh_root()
  local dir = U.tmproot()
  root, dcfg = dir .. "/state", dir .. "/docker"
  write_cfg()
end
local function remove_root()
  U.rm_all(root)
  U.cleanup(root:gsub("/state$", ""))
end

describe("registry with token auth #root", function()
  before_each(fresh_root)
  after_each(remove_root)

  it("pulls a public repository with one anonymous token and runs it", function()
    local n = #tokens()
    ctr_ok({ "pull", ref("public") })
    local t = tokens()
    assert.are.equal(n + 1, #t) -- manifest, config and layer: one token
    assert.are.same({ user = "", asked = { "repository:test/public:pull" }, granted = { "test/public:pull" } }, t[#t])
    assert.are.equal("keep\n", ctr_ok({ "run", "--rm", ref("public"), "cat", "/etc/kept" }))
  end)

  it("refuses a private repository without credentials in one line; login then pulls it", function()
    local out, err, code = ctr({ "pull", ref("private") })
    assert.are.equal(125, code, out .. err)
    assert.matches("^luac%-ctr: registry " .. host:gsub("%.", "%%.") .. ": manifest test/private:1: " ..
      "authentication required %(not logged in: luac%-ctr login [%d.:]+%)\n$", err)
    assert.are.equal(0, count(root .. "/images"))
    assert.are.equal(0, count(root .. "/layers"))
    -- a wrong password: the token server says 401, login says so and stores nothing
    out, err, code = ctr({ "login", "-u", "alice", "--password-stdin", host }, "nope\n")
    assert.are.equal(125, code, out .. err)
    assert.matches("login to [%d.:]+ failed: unauthorized", err)
    assert.is_nil(core.stat(dcfg .. "/config.json"))
    login("alice", "s3cret")
    local n = #tokens()
    ctr_ok({ "pull", ref("private") })
    local t = tokens()
    assert.are.equal(n + 1, #t)
    assert.are.same({ user = "alice", asked = { "repository:test/private:pull" }, granted = { "test/private:pull" } },
      t[#t])
    -- a user the acl does not name: the token server knows him, the registry refuses
    login("bob", "hunter2")
    ctr_ok({ "rmi", ref("private") })
    out, err, code = ctr({ "pull", ref("private") })
    assert.are.equal(125, code, out .. err)
    assert.matches("authentication required %(as bob%)\n$", err)
  end)

  it("pushes only with credentials that have the push scope", function()
    local tar = tmp .. "/p.tar"
    sh_ok("tar -C " .. q(tmp .. "/b/rootfs") .. " -cf " .. q(tar) .. " .")
    ctr_ok({ "import", tar, ref("mine") })
    local out, err, code = ctr({ "push", ref("mine") })
    assert.are.equal(125, code, out .. err)
    assert.matches("authentication required %(not logged in", err)
    login("bob", "hunter2") -- pull only
    out, err, code = ctr({ "push", ref("mine") })
    assert.are.equal(125, code, out .. err)
    assert.matches("authentication required %(as bob%)", err)
    login("alice", "s3cret")
    out = ctr_ok({ "push", ref("mine") })
    local digest = assert(out:match("digest: (sha256:%x+)"))
    local t = tokens()
    assert.are.same({ "test/mine:pull,push" }, t[#t].granted)
    local info = json.decode(sh_ok("skopeo inspect --tls-verify=false --creds alice:s3cret docker://" .. ref("mine")))
    assert.are.equal(digest, info.Digest)
  end)

  it("mounts a blob from a repository the token may pull, uploads it when it may not", function()
    login("alice", "s3cret")
    ctr_ok({ "pull", ref("shared") })
    ctr_ok({ "tag", ref("shared"), ref("copy1") })
    local n = #tokens()
    local out = ctr_ok({ "push", ref("copy1") })
    assert.matches("Mounted from test/shared", out)
    assert.not_matches("Pushed", out)
    local t = tokens()
    assert.are.same({ "test/copy1:pull,push", "test/shared:pull" }, t[#t].granted)
    assert.are.equal(n + 2, #t) -- the push's token, then the mount's (with the source's pull)
    -- the same layer pulled from test/secret only (as admin); alice may not pull it: no mount, an upload
    ctr_ok({ "rmi", ref("copy1") })
    ctr_ok({ "rmi", ref("shared") })
    login("admin", "root-pw")
    ctr_ok({ "pull", ref("secret") })
    login("alice", "s3cret")
    ctr_ok({ "tag", ref("secret"), ref("copy2") })
    out = ctr_ok({ "push", ref("copy2") })
    assert.not_matches("Mounted", out)
    assert.matches("Pushed", out)
    local asked = false
    for _, e in ipairs(tokens()) do
      for _, s in ipairs(e.asked) do asked = asked or (s == "repository:test/secret:pull" and e.user == "alice") end
      for _, g in ipairs(e.granted) do assert.not_matches("^test/secret", e.user == "alice" and g or "") end
    end
    assert.is_true(asked)
    ctr_ok({ "rmi", ref("copy2") })
    ctr_ok({ "rmi", ref("secret") })
    ctr_ok({ "pull", ref("copy2") })
    assert.are.equal("keep\n", ctr_ok({ "run", "--rm", ref("copy2"), "cat", "/etc/kept" }))
  end)

  it("reuses a token within expires_in, asks again when it expires or the registry refuses it", function()
    local registry = require "ctr.registry"
    local function client() return registry.client(registry.parse(ref("public")), { creds = false }) end
    write_cfg({ expires_in = 2 })
    local c, n = client(), #tokens()
    c:manifest("1")
    c:manifest("1")
    assert.are.equal(n + 1, #tokens())
    core.sleep(2.1) -- the registry would still take it (60 s leeway): the client renews by expires_in
    c:manifest("1")
    assert.are.equal(n + 2, #tokens())
    -- a token the client believes good for 300 s that the registry refuses 2 s from now (clock skew, revocation)
    write_cfg({ expires_in = 300, exp_offset = -358 })
    c, n = client(), #tokens()
    c:manifest("1")
    core.sleep(3)
    write_cfg()
    c:manifest("1") -- 401 (invalid_token): one new token, then it works
    assert.are.equal(n + 2, #tokens())
  end)
end)

describe("registry with token auth over TLS, the realm on another certificate #root", function()
  local reg2, iss2, host2

  setup(function()
    local d = tmp .. "/tls"
    local function cert(name)
      sh_ok("mkdir -p " .. q(d) .. " && cd " .. q(d) .. " && openssl req -x509 -newkey rsa:2048 -nodes -keyout " ..
        name .. ".key -out " .. name .. ".crt -days 1 -subj /CN=" .. name ..
        " -addext subjectAltName=IP:127.0.0.1 2>/dev/null")
    end
    cert("registry")
    cert("auth")
    local iport
    iss2, iport = start("issuer2", function(p)
      return "env " .. issuer_env .. " socat OPENSSL-LISTEN:" .. p .. ",bind=127.0.0.1,reuseaddr,fork,cert=" ..
        d .. "/auth.crt,key=" .. d .. "/auth.key,verify=0 " .. q(issuer_cmd)
    end, "https://127.0.0.1:%d/health")
    local port
    reg2, port = start("registry2", function(p)
      assert(core.write_file_atomic(tmp .. "/reg2.yml", table.concat({ "version: 0.1", "log:", "  level: error",
        "storage:", "  filesystem:", "    rootdirectory: " .. tmp .. "/storage2", "http:", "  addr: 127.0.0.1:" .. p,
        "  tls:", "    certificate: " .. d .. "/registry.crt", "    key: " .. d .. "/registry.key",
        "auth:", "  token:", "    realm: https://127.0.0.1:" .. iport .. "/token", "    service: luac-ctr-test",
        "    issuer: luac-ctr-test-issuer", "    rootcertbundle: " .. tmp .. "/tok.crt", "" }, "\n")))
      return "docker-registry serve " .. q(tmp .. "/reg2.yml")
    end, "https://127.0.0.1:%d/v2/")
    host2 = "127.0.0.1:" .. port
    sh_ok("skopeo copy -q --dest-tls-verify=false --dest-creds admin:root-pw oci:" .. q(tmp .. "/lay") ..
      ":v1 docker://" .. host2 .. "/test/private:1")
    -- certs.d with the registry's CA only, and with both
    sh_ok("mkdir -p " .. q(tmp .. "/one/" .. host2) .. " " .. q(tmp .. "/both/" .. host2) .. " && cp " ..
      q(d .. "/registry.crt") .. " " .. q(tmp .. "/one/" .. host2 .. "/ca.crt") .. " && cat " ..
      q(d .. "/registry.crt") .. " " .. q(d .. "/auth.crt") .. " > " .. q(tmp .. "/both/" .. host2 .. "/ca.crt"))
  end)
  teardown(function()
    kill(reg2)
    kill(iss2)
    env = ""
  end)
  before_each(fresh_root)
  after_each(remove_root)

  it("verifies the token server's certificate with certs.d's CA and sends the credentials only then", function()
    env = "LUAC_CTR_CERTS_D=" .. q(tmp .. "/one") .. " "
    local n = #tokens()
    local out, err, code = ctr({ "login", "-u", "alice", "--password-stdin", host2 }, "s3cret\n")
    assert.are.equal(125, code, out .. err)
    assert.matches("cannot get a token %(.*[Cc]ertificate", err)
    assert.are.equal(n, #tokens()) -- the TLS handshake failed: the issuer never saw the password
    env = "LUAC_CTR_CERTS_D=" .. q(tmp .. "/both") .. " "
    ctr_ok({ "login", "-u", "alice", "--password-stdin", host2 }, "s3cret\n")
    ctr_ok({ "pull", host2 .. "/test/private:1" })
    local t = tokens()
    assert.are.same({ user = "alice", asked = { "repository:test/private:pull" }, granted = { "test/private:pull" } },
      t[#t])
    assert.are.equal("keep\n", ctr_ok({ "run", "--rm", host2 .. "/test/private:1", "cat", "/etc/kept" }))
  end)
end)
