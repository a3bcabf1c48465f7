--- bench/userns.lua - what --userns=auto costs against the default
-- (--userns=host), in one run, through the Lua API: create (the range
-- allocated under its lock, the container's / chowned), start to exit of
-- `true` (the maps written, the overlay built with idmapped lower layers
-- and handed over, the mounts attached) and rm (the range released),
-- alternating the two modes so that a busy machine weighs on both alike.
-- Usage (as root, from the source tree, in a private network namespace):
--   unshare --net lua5.4 bench/userns.lua [N=20]
-- Prints the mean milliseconds of each step for each mode.
package.path = "spec/?.lua;lua/?.lua;lua/?/init.lua;" .. package.path
local U = require "spec_util"
package.cpath = U.srcdir .. "/" .. U.build .. "/?.so;" .. package.cpath
local core = require "ctr.core"

local N = math.tointeger(tonumber(arg[1])) or 20
local root = U.tmproot()
require("ctr.state").set_root(root)
local C = require "ctr.container"

local function now() return core.clock("monotonic") end
local sum = { host = { 0, 0, 0 }, auto = { 0, 0, 0 } }
local ok, err = pcall(function()
  C.run { image = "busybox", cmd = { "true" }, network = "none", rm = true } -- the image, made once
  for i = 1, 2 * N do
    local mode = i % 2 == 0 and "host" or "auto"
    local a = now()
    local c = C.create { image = "busybox", cmd = { "true" }, network = "none", userns = mode }
    local b = now()
    c:start {}
    local d = now()
    c:remove {}
    local s = sum[mode]
    s[1], s[2], s[3] = s[1] + (b - a), s[2] + (d - b), s[3] + (now() - d)
  end
end)
U.rm_all(root)
U.cleanup(root)
if not ok then io.stderr:write("bench/userns.lua: ", tostring(err), "\n"); os.exit(1) end
for _, m in ipairs({ "host", "auto" }) do
  local s = sum[m]
  print(("--userns=%-4s create %6.1f  start..exit %6.1f  rm %6.1f ms (mean of %d)"):format(m,
    s[1] * 1000 / N, s[2] * 1000 / N, s[3] * 1000 / N, N))
end
