--- ctr.network.hosts: the containers' /etc/hosts files. A container on a
-- network has a hosts file (bind-mounted into it) listing localhost, its
-- --add-host entries, its own names and, on a user-defined network, the
-- names of the other containers there; the file is rewritten in place (same
-- inode) whenever a container joins or leaves.
--
-- Errors: "invalid" for a bad --add-host entry.
local errors = require "ctr.errors"
local ipam = require "ctr.network.ipam"
local store = require "ctr.network.store"

local M = {}

local HOSTS_HEADER = table.concat({
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
}, "\n") .. "\n"

local function names_of(cid, a)
  local t, seen = {}, {}
  local function add(s)
    if type(s) == "string" and s ~= "" and not seen[s] then seen[s] = true; t[#t + 1] = s end
  end
  add(a.name); add(a.hostname)
  for _, s in ipairs(a.aliases or {}) do add(s) end
  if #t == 0 then t[1] = cid:sub(1, 12) end
  return t
end

--- The hosts entries of a network: {{ip=, names={...}, container_id=}, ...},
-- sorted by address.
function M.entries(name)
  local n = name
  if type(n) ~= "table" or not n.attachments then n = store.load(type(n) == "table" and n.name or n) end
  if not n then return {} end
  local t = {}
  for cid, a in pairs(n.attachments) do
    t[#t + 1] = { ip = a.ip, names = names_of(cid, a), container_id = cid }
  end
  table.sort(t, function(x, y) return ipam.ip2int(x.ip) < ipam.ip2int(y.ip) end)
  return t
end

-- The hosts file text for container cid given every network it is on.
local function hosts_text(cid, nets)
  local lines, own, seen = { HOSTS_HEADER }, {}, {}
  for _, n in ipairs(nets) do
    local a = n.attachments[cid]
    for _, h in ipairs(a.extra_hosts or {}) do
      local key = h.ip .. " " .. h.host
      if not seen[key] then seen[key] = true; lines[#lines + 1] = h.ip .. "\t" .. h.host .. "\n" end
    end
  end
  for _, n in ipairs(nets) do
    local a = n.attachments[cid]
    if not own[a.ip] then own[a.ip] = true
      lines[#lines + 1] = a.ip .. "\t" .. table.concat(names_of(cid, a), " ") .. "\n"
    end
  end
  for _, n in ipairs(nets) do
    -- the default network, as docker's, gives no names of the other containers
    for _, e in ipairs(n.name == store.DEFAULT and {} or M.entries(n)) do
      if e.container_id ~= cid and not seen[e.ip] then
        seen[e.ip] = true
        lines[#lines + 1] = e.ip .. "\t" .. table.concat(e.names, " ") .. "\n"
      end
    end
  end
  return table.concat(lines)
end

-- Rewrite a file in place: open with O_TRUNC and write, so the inode (which
-- is bind-mounted into the container) stays the same; never rename over it.
local function write_in_place(path, text)
  local f, err = io.open(path, "w")
  if not f then return nil, err end
  f:write(text)
  return f:close()
end

-- Write cid's hosts file(s) for the networks mine it is on.
local function write_own(cid, mine)
  for _, n in ipairs(mine) do
    local path = n.attachments[cid].hosts_file
    if path then write_in_place(path, hosts_text(cid, mine)) end
  end
end

--- Rewrite container cid's own hosts file alone: what its joining or
-- leaving the default network changes (no names of the others there). No
-- lock needed: it reads, and writes only cid's file. Reads the default
-- network's record and cid's attachment only, so a run there costs the
-- same however many run beside. mine: the records of the networks cid is
-- on, each with cid's attachment, when the caller has them.
function M.update_own(cid, mine)
  if mine then return write_own(cid, mine) end
  mine = {}
  for _, name in ipairs(store.memberships(cid)) do
    local n = name == store.DEFAULT and store.load_record(name) or store.load(name)
    if n and not n.attachments[cid] then n.attachments[cid] = store.attachment(name, cid) end
    if n and n.attachments[cid] then mine[#mine + 1] = n end
  end
  write_own(cid, mine)
end

--- Rewrite the hosts files of the containers on network name; on the default
-- network (no names of the others) only that of cid, the container being
-- attached or detached (update_own). (Under the networks lock.)
function M.update_locked(name, cid)
  if name == store.DEFAULT and cid then return M.update_own(cid) end
  local nets = store.all()
  local target = {}
  for _, n in ipairs(nets) do
    if n.name == name then for c in pairs(n.attachments) do target[c] = true end end
  end
  for id in pairs(target) do
    local mine = {}
    for _, n in ipairs(nets) do if n.attachments[id] then mine[#mine + 1] = n end end
    for _, n in ipairs(mine) do
      local path = n.attachments[id].hosts_file
      if path then write_in_place(path, hosts_text(id, mine)) end
    end
  end
end

--- Parse --add-host entries ({"name:ip"} or {{host=, ip=}}) to
-- {{host=, ip=}}; raises "invalid" on a bad one.
function M.parse_extra(list)
  local t = {}
  for _, h in ipairs(list or {}) do
    local host, ip
    if type(h) == "string" then
      host, ip = h:match("^([^:]+):(.+)$")
    elseif type(h) == "table" then
      host, ip = h.host, h.ip
    end
    if type(host) ~= "string" or not host:match("^[^%s#]+$") or not ipam.ip2int(ip) then
      errors.throw("invalid", "bad --add-host '%s' (want NAME:IPv4)",
        type(h) == "table" and tostring(host) .. ":" .. tostring(ip) or tostring(h))
    end
    t[#t + 1] = { host = host, ip = ip }
  end
  return t
end

local STANDARD_HOSTS = { ["127.0.0.1"] = true, ["::1"] = true, ["fe00::0"] = true,
  ["ff00::0"] = true, ["ff02::1"] = true, ["ff02::2"] = true }

--- The entries of an existing hosts file beyond the standard localhost lines
-- (what the runtime wrote for --add-host before the first attach).
function M.existing(path)
  local t = {}
  local f = path and io.open(path, "r")
  if not f then return t end
  for line in f:lines() do
    local ip, names = line:match("^%s*([^#%s]+)%s+([^#]+)")
    if ip and not STANDARD_HOSTS[ip] then
      for host in names:gmatch("%S+") do t[#t + 1] = { host = host, ip = ip } end
    end
  end
  f:close()
  return t
end

return M
