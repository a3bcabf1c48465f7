--- ctr.container.rename: docker rename: Container:rename.
local errors = require "ctr.errors"
local state = require "ctr.state"
local object = require "ctr.container.object"
local store = require "ctr.container.store"

local M = {}
local Container = object.Container

-- Rename the container in the records of the networks it is on, and
-- rewrite their hosts files where its name is published.
local function rename_in_networks(id, old, new)
  local nstore = require "ctr.network.store"
  if not require("ctr.core").exists(nstore.dir()) then return end
  nstore.locked(function()
    for _, n in ipairs(nstore.all()) do
      local a = n.attachments[id]
      if a and a.name == old then
        a.name = new
        nstore.save(n)
        require("ctr.network.hosts").update_locked(n.name, id)
      end
    end
  end)
end

--- Give the container a new name (docker rename): valid as run --name
-- takes it, not in use by another container (conflict), not its current
-- name. The hosts files of its networks that list it get the new name.
-- Raises invalid or conflict (the workflow exits 1).
function Container:rename(new)
  if not state.valid_name(new) then
    errors.throw("invalid", "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", tostring(new))
  end
  local old = self.state.name
  state.with_lock(function()
    if new == old then
      errors.throw("conflict", "Renaming a container with the same name as its current name")
    end
    local other = store.by_name(new)
    if other and other.id ~= self.id then
      errors.throw("conflict", "Conflict. The container name \"/%s\" is already in use by container \"%s\". " ..
        "You have to remove (or rename) that container to be able to reuse that name.", new, other.id)
    end
    -- the new entry first, the old one once the state says so: a crash
    -- between leaves a stale entry, which lookups ignore (ctr.container.store)
    store.claim_name(new, self.id)
    local ok, err = pcall(self._locked, self, function()
      self.state.name = new
      self:_save()
      require("ctr.eventlog").container(self, "rename", { oldName = "/" .. old })
    end)
    if not ok then
      store.release_name(new, self.id)
      error(err, 0)
    end
    store.release_name(old, self.id)
  end)
  rename_in_networks(self.id, old, new)
end

return M
