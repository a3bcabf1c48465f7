-- token_issuer: a token server of the registry token protocol (the
-- distribution spec's "Token Authentication Specification"), for
-- spec/registry_token_spec.lua. socat runs it once per connection with the
-- connection on stdin/stdout:
--
--   socat TCP-LISTEN:PORT,bind=127.0.0.1,fork SYSTEM:'lua5.4 spec/token_issuer.lua CONFIG'
--
-- It answers GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...]
-- (optional Basic credentials) with {"token", "access_token", "expires_in",
-- "issued_at"}: a JWT signed RS256 by `openssl dgst` with the test's key,
-- its certificate in the header's x5c (what distribution's token auth
-- verifies against its rootcertbundle). It grants exactly the intersection
-- of what is asked and what CONFIG's acl allows; wrong credentials get 401.
-- CONFIG (JSON, read on every request so a spec can change it):
--   { issuer, service, key (PEM path), x5c (base64 DER), expires_in,
--     exp_offset (seconds added to the JWT's exp: negative makes tokens the
--     registry refuses as expired), log (a file: one JSON line per token),
--     users = {name = password}, acl = {repo = {anonymous|user = "pull,push"}} }
-- Nothing here is luac-ctr code: it is the other side of the protocol.
local json = require "ctr.json"
local http = require "ctr.http"

local cfg = json.decode(assert(io.open(arg[1])):read("a"))

local function reply(status, body, extra)
  io.write(("HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n%s")
    :format(status, #body, extra or "", body))
  io.flush()
  os.exit(0)
end

local function b64url(s) return (http.base64(s):gsub("+", "-"):gsub("/", "_"):gsub("=", "")) end
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function unescape(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- the request line and headers
local line = io.read("l") or ""
local target = line:match("^GET (%S+) HTTP/1%.[01]\r?$")
local authz
while true do
  local h = io.read("l")
  if not h or h == "" or h == "\r" then break end
  local v = h:match("^[Aa]uthorization:%s*(.-)\r?$")
  if v then authz = v end
end
if not target then reply("400 Bad Request", '{"error":"bad request"}') end
local path, query = target:match("^([^?]*)%??(.*)$")
if path ~= "/token" then reply("404 Not Found", '{"error":"not found"}') end

-- who: Basic credentials, checked; none is anonymous
local user
if authz then
  local plain = http.unbase64(authz:match("^[Bb]asic%s+(%S+)$") or "") or ""
  local u, p = plain:match("^([^:]*):(.*)$")
  if not u or cfg.users[u] == nil or cfg.users[u] ~= p then
    reply("401 Unauthorized", '{"details":"incorrect username or password"}',
      'WWW-Authenticate: Basic realm="token"\r\n')
  end
  user = u
end

-- what: the scopes asked (several scope= params, each maybe space-separated)
local service, asked = nil, {}
for k, v in query:gmatch("([^&=]+)=([^&]*)") do
  v = unescape(v)
  if k == "service" then service = v end
  if k == "scope" then
    for s in v:gmatch("%S+") do asked[#asked + 1] = s end
  end
end
if service ~= cfg.service then reply("400 Bad Request", '{"error":"unknown service"}') end

local function allowed(repo, action)
  local acl = cfg.acl[repo] or {}
  for _, who in ipairs({ "anonymous", user }) do
    for a in (acl[who] or ""):gmatch("[^,]+") do
      if a == action then return true end
    end
  end
  return false
end

local access, granted = json.array({}), {}
for _, s in ipairs(asked) do
  local typ, name, actions = s:match("^(%w+):(.+):([%w,*]+)$")
  if typ == "repository" then
    local ok = json.array({})
    for a in actions:gmatch("[^,]+") do
      if allowed(name, a) then ok[#ok + 1] = a end
    end
    if #ok > 0 then
      access[#access + 1] = { type = "repository", name = name, actions = ok }
      granted[#granted + 1] = name .. ":" .. table.concat(ok, ",")
    end
  end
end

-- the JWT
local now = os.time()
local header = json.encode({ typ = "JWT", alg = "RS256", x5c = json.array({ cfg.x5c }) })
local claims = json.encode({ iss = cfg.issuer, sub = user or "", aud = service, iat = now, nbf = now - 5,
  exp = now + cfg.expires_in + (cfg.exp_offset or 0), jti = tostring(math.random(1 << 40)) .. tostring(now),
  access = access })
local input = b64url(header) .. "." .. b64url(claims)
local p = assert(io.popen("printf %s " .. q(input) .. " | openssl dgst -sha256 -binary -sign " .. q(cfg.key)))
local sig = p:read("a")
p:close()
if #sig == 0 then reply("500 Internal Server Error", '{"error":"cannot sign"}') end
local token = input .. "." .. b64url(sig)

local log = assert(io.open(cfg.log, "a"))
log:write(json.encode({ user = user or "", asked = json.array(asked), granted = json.array(granted) }), "\n")
log:close()
reply("200 OK", json.encode({ token = token, access_token = token, expires_in = cfg.expires_in,
  issued_at = os.date("!%Y-%m-%dT%H:%M:%SZ", now) }))
