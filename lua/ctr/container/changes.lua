--- ctr.container.changes: docker diff: Container:diff, the changes of
-- the container's filesystem against its image, read from its overlay
-- upper dir: a whiteout (char device 0:0) is a deletion, an opaque
-- directory (trusted.overlay.opaque=y) hides what its image had below it
-- (each such entry a deletion), anything else is a change when the image
-- had the path, an addition when it did not. The upper dir and the image
-- layers are read by a helper rooted in them (ctr.container.helper), so no
-- symlink the container makes can lead the walk out.
local core = require "ctr.core"
local object = require "ctr.container.object"

local M = {}
local Container = object.Container

--- docker's kinds: 0 changed, 1 added, 2 deleted, and their letters.
M.KINDS = { [0] = "C", [1] = "A", [2] = "D" }

-- In the helper (rooted: /u the upper dir, /l the image): write "K path"
-- lines to w for what is below rel. lower: the image has rel as a directory.
local function walk(rel, lower, w, must)
  local names = must(core.readdir("/u" .. rel))
  table.sort(names)
  for _, n in ipairs(names) do
    local p = rel .. "/" .. n
    local st = core.lstat("/u" .. p)
    local lst = lower and core.lstat("/l" .. p) or nil
    if st and st.type == "chr" and st.rdev == 0 then
      if lst then must(core.write(w, "2 " .. p .. "\0")) end
    elseif st then
      must(core.write(w, (lst and "0 " or "1 ") .. p .. "\0"))
      if st.type == "dir" then
        local opaque = core.getxattr("/u" .. p, "trusted.overlay.opaque") == "y"
        local ldir = lst and lst.type == "dir"
        if opaque and ldir then
          local seen = {}
          for _, m in ipairs(core.readdir("/u" .. p) or {}) do seen[m] = true end
          for _, m in ipairs(core.readdir("/l" .. p) or {}) do
            if not seen[m] then must(core.write(w, "2 " .. p .. "/" .. m .. "\0")) end
          end
        end
        walk(p, ldir and not opaque, w, must)
      end
    end
  end
end

--- The container's filesystem changes (docker diff): a list of { Kind =
-- 0 (changed) | 1 (added) | 2 (deleted), Path = "/etc/x" }, sorted by path.
-- Raises (exit code 1) when they cannot be read.
function Container:diff()
  local helper = require "ctr.container.helper"
  local r, w = core.pipe()
  local h = helper.start(self, "diff", function() walk("", true, w, helper.must) end, { r })
  w:close()
  local text = helper.read_all(r)
  r:close()
  helper.finish(h)
  local out = {}
  for kind, path in text:gmatch("(%d) ([^%z]*)%z") do
    out[#out + 1] = { Kind = math.tointeger(tonumber(kind)), Path = path }
  end
  table.sort(out, function(a, b) return a.Path < b.Path end)
  return M.without_mounts(out, self:config().mounts)
end

-- Whether path is below dir.
local function under(path, dir) return path:sub(1, #dir + 1) == dir .. "/" end

--- changes without the mount points of mounts (config.json's: /etc/hosts,
-- volumes...), which docker does not list either, nor the directories
-- listed only because they hold such a mount point.
function M.without_mounts(changes, mounts)
  local dest, anc = {}, {}
  for _, m in ipairs(mounts or {}) do dest[m.destination] = true end
  local kept = {}
  for _, ch in ipairs(changes) do
    if dest[ch.Path] then
      for d in ch.Path:gmatch("()/") do if d > 1 then anc[ch.Path:sub(1, d - 1)] = true end end
    else
      kept[#kept + 1] = ch
    end
  end
  local out = {}
  for _, ch in ipairs(kept) do
    local keep = ch.Kind ~= 0 or not anc[ch.Path]
    if not keep then
      for _, o in ipairs(kept) do
        if under(o.Path, ch.Path) then keep = true; break end
      end
    end
    if keep then out[#out + 1] = ch end
  end
  return out
end

return M
