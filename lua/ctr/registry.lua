--- ctr.registry: references and a client of the registry HTTP API v2 (the
-- OCI distribution spec), over libcurl (ctr.http).
--
--   local registry = require "ctr.registry"
--   local r = registry.parse("busybox")   -- docker.io/library/busybox:latest
--   local c = registry.client(r)
--   local m, digest = c:manifest("latest")
--
-- Plain HTTP is used only for registries on 127.0.0.0/8 and those listed
-- in the "insecure" list of the config file (M.config_file(): JSON
-- {"insecure": ["host:port", ...]}), and not when the registry has a CA in
-- <certs.d>/HOST[:PORT]/ca.crt (M.certs_dir(), as docker's certs.d);
-- everything else is HTTPS with the system's CAs plus that CA. Authentication: the WWW-Authenticate challenge,
-- Bearer tokens (anonymous or with the credentials of ctr.registry_auth)
-- and Basic.
local core = require "ctr.core"
local errors = require "ctr.errors"
local json = require "ctr.json"
local store = require "ctr.registry_store"

local M = {}

--- Media types of manifests and indexes.
M.MEDIA = {
  oci_manifest = "application/vnd.oci.image.manifest.v1+json",
  oci_index = "application/vnd.oci.image.index.v1+json",
  docker_manifest = "application/vnd.docker.distribution.manifest.v2+json",
  docker_list = "application/vnd.docker.distribution.manifest.list.v2+json",
}
local ACCEPT = "Accept: " .. table.concat({ M.MEDIA.oci_index, M.MEDIA.oci_manifest,
  M.MEDIA.docker_list, M.MEDIA.docker_manifest }, ", ")

local function http() return require "ctr.http" end

-- ---- references -------------------------------------------------------------

local function valid_path(path)
  if #path > 255 or path == "" then return false end
  for c in (path .. "/"):gmatch("([^/]*)/") do
    if not (c:match("^[a-z0-9]+$") or c:match("^[a-z0-9][a-z0-9._-]*[a-z0-9]$")) or c:find("%.%.") then
      return false
    end
  end
  return true
end

--- Parse an image reference with docker's rules: "busybox" is
-- docker.io/library/busybox:latest; "host[:port]/path[:tag][@sha256:...]"
-- names another registry (the first component has a "." or ":" or is
-- "localhost"). Returns {domain=, repo=, tag=, digest=, name= (the short
-- name images are stored under, "busybox" or "127.0.0.1:5000/app"),
-- local_ref= name:tag or nil}; raises an "invalid" error.
function M.parse(ref)
  if type(ref) ~= "string" or ref == "" or #ref > 512 then
    errors.throw("invalid", "invalid reference format: %s", tostring(ref))
  end
  local rest, digest = ref:match("^([^@]+)@(.+)$")
  if digest and not store.hex(digest) then errors.throw("invalid", "invalid reference format: bad digest in %s", ref) end
  rest = rest or ref
  local name, tag = rest:match("^(.+):([%w_][%w_.-]*)$")
  if not name or #tag > 128 then name, tag = rest, nil end
  local domain, path = name:match("^([^/]+)/(.+)$")
  if not domain or not (domain:find("[.:]") or domain == "localhost") then domain, path = "docker.io", name end
  if domain ~= "docker.io" and not domain:match("^[%w.-]+$") and not domain:match("^[%w.-]+:%d+$") then
    errors.throw("invalid", "invalid reference format: bad registry %s", domain)
  end
  if domain == "docker.io" and not path:find("/") then path = "library/" .. path end
  if not valid_path(path) then errors.throw("invalid", "invalid reference format: %s", ref) end
  if not tag and not digest then tag = "latest" end
  local short = domain == "docker.io" and path:gsub("^library/", "") or (domain .. "/" .. path)
  return { domain = domain, repo = path, tag = tag, digest = digest, name = short,
    local_ref = tag and (short .. ":" .. tag) or nil }
end

-- ---- where and how to connect -----------------------------------------------------

--- The config file listing insecure (plain HTTP) registries:
-- $LUAC_CTR_REGISTRIES or /etc/luac-ctr/registries.json.
function M.config_file()
  return os.getenv("LUAC_CTR_REGISTRIES") or "/etc/luac-ctr/registries.json"
end

--- The directory of per-registry CAs: $LUAC_CTR_CERTS_D or /etc/luac-ctr/certs.d.
function M.certs_dir()
  return os.getenv("LUAC_CTR_CERTS_D") or "/etc/luac-ctr/certs.d"
end

local function insecure(domain)
  local host = domain:match("^([^:]+)") or domain
  if host:match("^127%.%d+%.%d+%.%d+$") then return true end
  local f = io.open(M.config_file(), "r")
  if not f then return false end
  local cfg = json.decode(f:read(1024 * 1024) or "")
  f:close()
  for _, d in ipairs(type(cfg) == "table" and type(cfg.insecure) == "table" and cfg.insecure or {}) do
    if d == domain then return true end
  end
  return false
end

local function endpoint(domain)
  if domain == "docker.io" then return "registry-1.docker.io" end
  return domain
end

-- ---- the client ------------------------------------------------------------------

local Client = {}
Client.__index = Client

--- A client for the repository of the parsed reference r. opts.push: ask
-- for push rights too. opts.creds: {username=, password=} (default: those
-- stored by login for the registry).
function M.client(r, opts)
  opts = opts or {}
  local ca = M.certs_dir() .. "/" .. r.domain .. "/ca.crt"
  local f = io.open(ca, "r")
  if f then f:close() else ca = nil end
  local scheme = (not ca and insecure(r.domain)) and "http" or "https"
  local creds = opts.creds
  if creds == nil then creds = require("ctr.registry_auth").get(r.domain) end
  return setmetatable({
    ref = r, scheme = scheme, base = scheme .. "://" .. endpoint(r.domain) .. "/v2/",
    cainfo = ca, creds = creds, actions = opts.push and "pull,push" or "pull",
  }, Client)
end

--- The URL of path under this repository ("/manifests/latest").
function Client:url(path) return self.base .. self.ref.repo .. path end

--- The header lines of a response as a table (lowercase names; a header
-- that repeats keeps its first value).
function M.headers(raw)
  local t = {}
  for line in (raw or ""):gmatch("[^\r\n]+") do
    local k, v = line:match("^([%w-]+):%s*(.-)%s*$")
    if k and t[k:lower()] == nil then t[k:lower()] = v end
  end
  return t
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local function basic(creds)
  return "Authorization: Basic " .. http().base64(creds.username .. ":" .. creds.password)
end

-- The scopes a token is asked for: this client's repository with its
-- actions (none for login's "/v2/") and those the challenge names (a
-- blob mount names its source repository too), merged per resource.
local function scopes(self, p)
  local order, acts = {}, {}
  local function add(s)
    local res, list = s:match("^(.+):([%w,*]+)$")
    if not res then return end
    if not acts[res] then
      order[#order + 1], acts[res] = res, {}
    end
    for a in list:gmatch("[^,]+") do
      if not acts[res][a] then
        acts[res][a] = true
        acts[res][#acts[res] + 1] = a
      end
    end
  end
  if self.ref.repo ~= "" then add("repository:" .. self.ref.repo .. ":" .. self.actions) end
  for s in (p.scope or ""):gmatch("%S+") do add(s) end
  local q = {}
  for _, res in ipairs(order) do q[#q + 1] = "scope=" .. urlencode(res .. ":" .. table.concat(acts[res], ",")) end
  return q
end

--- The lifetime of a token whose response has no usable expires_in
-- (seconds; the token spec's default).
M.TOKEN_LIFETIME = 60

--- A Bearer token (the Authorization header line) for the challenge
-- params p (realm, service, scope), with the stored credentials if any;
-- also sets self.auth_expires (when to ask for a new one: expires_in).
-- Raises "invalid" when the token server refuses the credentials.
function Client:token(p)
  local realm = p.realm or ""
  local rscheme = realm:match("^(https?)://")
  if not rscheme or (rscheme == "http" and self.scheme ~= "http") then
    errors.throw("system", "registry %s: refusing the token realm %q", self.ref.domain, realm)
  end
  local q = {}
  if p.service then q[#q + 1] = "service=" .. urlencode(p.service) end
  for _, s in ipairs(scopes(self, p)) do q[#q + 1] = s end
  if self.creds then q[#q + 1] = "account=" .. urlencode(self.creds.username) end
  local url = realm .. (realm:find("?", 1, true) and "&" or "?") .. table.concat(q, "&")
  local hdrs = {}
  if self.creds then hdrs[1] = basic(self.creds) end
  local started = core.clock("monotonic")
  local resp = http().perform({ { url = url, headers = hdrs, cainfo = self.cainfo, max_body = 1024 * 1024,
    timeout = 60 } })[1]
  if (resp.status == 401 or resp.status == 403) and self.creds then
    errors.throw("invalid", "registry %s: unauthorized: the token server refused the credentials of %s",
      self.ref.domain, self.creds.username)
  elseif resp.status ~= 200 then
    errors.throw("system", "registry %s: cannot get a token (%s)", self.ref.domain,
      resp.error or ("HTTP " .. resp.status))
  end
  local t = json.decode(resp.body)
  local tok = type(t) == "table" and (t.token or t.access_token)
  if type(tok) ~= "string" or tok == "" or tok:find("[\r\n]") then
    errors.throw("system", "registry %s: bad token response", self.ref.domain)
  end
  local life = math.type(t.expires_in) == "integer" and t.expires_in > 0 and t.expires_in or M.TOKEN_LIFETIME
  self.auth_expires = started + life - math.min(10, life / 10)
  self.auth_params = p
  return "Authorization: Bearer " .. tok
end

--- Answer a 401 response's WWW-Authenticate challenge: sets self.auth
-- (the Authorization header line). Raises when it cannot be answered.
function Client:challenge(resp)
  local h = M.headers(resp.headers)["www-authenticate"] or ""
  local scheme, rest = h:match("^(%a+)%s*(.*)$")
  scheme = scheme and scheme:lower()
  if scheme == "bearer" then
    local p = {}
    for k, v in rest:gmatch('(%w+)="([^"]*)"') do p[k:lower()] = v end
    self.auth = self:token(p)
  elseif scheme == "basic" and self.creds then
    self.auth_expires = nil
    if self.scheme ~= "https" and not self.ref.domain:match("^127%.") then
      errors.throw("system", "registry %s: refusing to send a password over plain HTTP", self.ref.domain)
    end
    self.auth = basic(self.creds)
  else
    errors.throw("system", "registry %s: authentication required%s", self.ref.domain,
      self.creds and "" or " (luac-ctr login " .. self.ref.domain .. ")")
  end
end

--- A copy of req with the registry's CA and the current Authorization added.
function Client:prepare(req)
  local q = {}
  for k, v in pairs(req) do q[k] = v end
  q.headers = {}
  for i, h in ipairs(req.headers or {}) do q.headers[i] = h end
  if self.auth then q.headers[#q.headers + 1] = self.auth end
  q.cainfo = self.cainfo
  q.timeout = q.timeout or 3600
  return q
end

--- Perform requests (list) against the registry, answering an
-- authentication challenge once. opts as http.perform's. Raises a
-- "system" error when the batch cannot run. @return the responses
function Client:perform(reqs, opts)
  local function run()
    if self.auth_expires and core.clock("monotonic") >= self.auth_expires then
      self.auth = self:token(self.auth_params) -- expired: a new one for the same scopes
    end
    local qs = {}
    for i, r in ipairs(reqs) do qs[i] = self:prepare(r) end
    local res, err = http().perform(qs, opts)
    if not res then errors.throw("system", "registry %s: %s", self.ref.domain, err) end
    return res
  end
  local res = run()
  for _, r in ipairs(res) do
    if r.status == 401 then
      self:challenge(r)
      return run()
    end
  end
  return res
end

--- One request (see Client:perform). @return the response
function Client:request(req) return self:perform({ req })[1] end

--- Raise the error for a failed response resp of client c ("not_found"
-- for 404, else "system"), with the registry's message.
local function http_error(c, resp, what)
  if resp.status == 0 then
    errors.throw("system", "registry %s: %s: %s", c.ref.domain, what, resp.error or "transfer failed")
  end
  local kind = resp.status == 404 and "not_found" or "system"
  local body = json.decode(resp.body or "")
  local msg = type(body) == "table" and type(body.errors) == "table" and type(body.errors[1]) == "table"
      and body.errors[1].message or ({ [401] = "authentication required", [403] = "denied" })[resp.status]
      or ("HTTP " .. resp.status)
  local hint = "" -- refused even with what we sent: say who we were
  if resp.status == 401 or resp.status == 403 then
    hint = c.creds and (" (as " .. c.creds.username .. ")") or (" (not logged in: luac-ctr login " .. c.ref.domain .. ")")
  end
  errors.throw(kind, "registry %s: %s: %s%s", c.ref.domain, what, tostring(msg):sub(1, 200), hint)
end
M.http_error = http_error

--- Fetch a manifest or index by tag or digest (verified when it is a
-- digest). @return the decoded manifest, its digest, its raw body, its
-- media type
function Client:manifest(refpart)
  local resp = self:request { url = self:url("/manifests/" .. refpart), headers = { ACCEPT },
    max_body = store.MAX_JSON }
  if resp.status ~= 200 then http_error(self, resp, "manifest " .. self.ref.repo .. ":" .. refpart) end
  local d = "sha256:" .. resp.sha256
  if store.hex(refpart) and refpart ~= d then
    errors.throw("invalid", "digest mismatch for manifest %s: got %s", refpart, d)
  end
  local m = json.decode(resp.body)
  if type(m) ~= "table" or m.schemaVersion ~= 2 then
    errors.throw("invalid", "registry %s: unsupported manifest for %s (schema 2 and OCI only)", self.ref.domain, refpart)
  end
  local ct = (M.headers(resp.headers)["content-type"] or ""):match("^[^;%s]+")
  return m, d, resp.body, m.mediaType or ct
end

--- Whether the manifest m (of media type mt) is an index / manifest list.
function M.is_index(m, mt)
  return mt == M.MEDIA.oci_index or mt == M.MEDIA.docker_list or (mt == nil and type(m.manifests) == "table")
end

return M
