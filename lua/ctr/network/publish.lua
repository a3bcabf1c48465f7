--- ctr.network.publish: ports published and withdrawn while a container
-- runs (Container:publish, Container:unpublish). The ports join the
-- container's attachment record, so detach (stop, rm) withdraws them with
-- the others.
local errors = require "ctr.errors"
local firewall = require "ctr.network.firewall"
local ports = require "ctr.network.ports"
local store = require "ctr.network.store"

local M = {}

local function same(a, b)
  return a.host_port == b.host_port and a.proto == b.proto and a.host_ip == b.host_ip
end

local function overlaps(a, b)
  return a.host_port == b.host_port and a.proto == b.proto
    and (a.host_ip == "0.0.0.0" or b.host_ip == "0.0.0.0" or a.host_ip == b.host_ip)
end

-- Under the lock: add list to cid's attachment on its first network (or
-- opts.network); returns the network record and the attachment.
local function add_locked(cid, list, opts)
  local nets = store.all()
  for _, n in ipairs(nets) do
    local a = n.attachments[cid]
    if a and (not (opts and opts.network) or opts.network == n.name) then
      ports.check_conflicts(nets, list, cid)
      for _, op in ipairs(a.ports or {}) do
        for _, p in ipairs(list) do
          if overlaps(op, p) then
            errors.throw("conflict", "host port %d/%s is already published by this container", p.host_port, p.proto)
          end
        end
      end
      a.ports = a.ports or {}
      for _, p in ipairs(list) do a.ports[#a.ports + 1] = p end
      store.save(n)
      return n, a
    end
  end
  errors.throw("invalid", "container %s is not attached to a bridge network", cid)
end

--- Publish more ports of container cid at run time: ports as attach's
-- ({"8080:80/udp"} or tables), added to its attachment on its first network
-- (or opts.network). Raises "invalid" (a bad port, no network) or
-- "conflict" (a host port published already). Returns the ports added.
function M.publish(cid, list, opts)
  list = ports.normalize(list)
  local n, a = store.locked(function() return add_locked(cid, list, opts) end)
  local ok, err = pcall(firewall.ports_up, a.ip, list, "publishing ports of " .. cid)
  if not ok then
    pcall(M.unpublish, cid, list, { network = n.name })
    error(err, 0)
  end
  return list
end

--- Withdraw ports published for container cid (matched by host address,
-- host port and protocol). Returns the ports withdrawn (empty when none was).
function M.unpublish(cid, list, opts)
  local want = ports.normalize(list)
  local gone, ip = {}, nil
  store.locked(function()
    for _, n in ipairs(store.all()) do
      local a = n.attachments[cid]
      if a and (not (opts and opts.network) or opts.network == n.name) then
        local keep = {}
        for _, op in ipairs(a.ports or {}) do
          local hit = false
          for _, p in ipairs(want) do hit = hit or same(op, p) end
          if hit then gone[#gone + 1] = op else keep[#keep + 1] = op end
        end
        a.ports, ip = keep, a.ip
        if #gone > 0 then store.save(n) end
      end
    end
  end)
  if ip and #gone > 0 then firewall.ports_down(ip, gone, "withdrawing published ports of " .. cid) end
  return gone
end

return M
