--- ctr.registry_auth: registry credentials in docker's config.json format
-- ($DOCKER_CONFIG/config.json, else ~/.docker/config.json; mode 0600):
--
--   { "auths": { "registry.example:5000": { "auth": base64("user:password") } } }
--
-- Docker Hub's entry is "https://index.docker.io/v1/", as docker writes it.
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local util = require "ctr.util"

local M = {}

local HUB = "https://index.docker.io/v1/"

local function http() return require "ctr.http" end

--- The config.json path: $DOCKER_CONFIG/config.json or ~/.docker/config.json.
function M.path()
  local dir = os.getenv("DOCKER_CONFIG")
  if not dir or dir == "" then dir = (os.getenv("HOME") or "/root") .. "/.docker" end
  return dir .. "/config.json"
end

local function key(domain) return domain == "docker.io" and HUB or domain end

local function read()
  local data = core.read_file(M.path())
  if not data then return {} end
  local t = json.decode(data)
  if type(t) ~= "table" then errors.throw("invalid", "%s is not valid JSON", M.path()) end
  return t
end

--- The stored credentials for domain: {username=, password=} or nil.
function M.get(domain)
  local ok, t = pcall(read)
  if not ok then
    errors.rethrow_interrupt(t)
    return nil
  end
  local e = type(t.auths) == "table" and t.auths[key(domain)]
  if type(e) ~= "table" or type(e.auth) ~= "string" then return nil end
  local plain = http().unbase64(e.auth)
  local u, p = (plain or ""):match("^([^:]*):(.*)$")
  if not u then return nil end
  return { username = u, password = p }
end

local function write(t)
  local path = M.path()
  local ok, err = util.mkdir_p(util.dirname(path), 448)
  if ok then ok, err = core.write_file_atomic(path, json.encode(t, { indent = true }) .. "\n", 384) end
  if not ok then errors.throw("system", "cannot write %s: %s", path, err) end
end

--- The registry a login/logout names: SERVER given as docker accepts it
-- (a URL's scheme and path dropped; Docker Hub's aliases are docker.io);
-- nil means docker.io. @return the domain
function M.server_name(server)
  server = (server or "docker.io"):gsub("^https?://", ""):gsub("/.*$", "")
  if server == "index.docker.io" or server == "registry-1.docker.io" then return "docker.io" end
  return server
end

--- Store credentials for domain (after checking them against the
-- registry: a request that needs them must succeed). Raises on errors.
function M.login(domain, username, password, opts)
  if type(username) ~= "string" or username == "" or username:find(":") then
    errors.throw("invalid", "invalid username")
  end
  if type(password) ~= "string" or password == "" then errors.throw("invalid", "a password is needed") end
  if not (opts and opts.check == false) then
    local registry = require "ctr.registry"
    local c = registry.client({ domain = domain, repo = "", name = domain },
      { creds = { username = username, password = password } })
    local resp = c:request { url = c.base }
    if resp.status == 401 then
      errors.throw("invalid", "login to %s failed: unauthorized (wrong username or password)", domain)
    elseif resp.status ~= 200 then
      registry.http_error(c, resp, "login")
    end
  end
  local t = read()
  if type(t.auths) ~= "table" then t.auths = {} end
  t.auths[key(domain)] = { auth = http().base64(username .. ":" .. password) }
  write(t)
  return true
end

--- Remove the credentials of domain. @return whether there were any
function M.logout(domain)
  local t = read()
  if type(t.auths) ~= "table" or t.auths[key(domain)] == nil then return false end
  t.auths[key(domain)] = nil
  write(t)
  return true
end

return M
