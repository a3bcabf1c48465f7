-- logout: Log out from a registry
-- luac-ctr logout [SERVER]
-- Removes the credentials login stored for SERVER (default docker.io).
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local util = require "ctr.util"

local ok, perr, args = pcall(cli.parse, util.script_args(...), {}, {
  usage = "logout [SERVER]",
  description = "Log out from a registry",
  command = "logout",
})
if not ok then errors.throw("invalid", "%s", errors.message(perr)) end
if #args > 1 then util.die('"logout" requires at most 1 argument.\nSee \'luac-ctr logout --help\'.', 125) end
local server = (args[1] or "docker.io"):gsub("^https?://", ""):gsub("/.*$", "")
if require("ctr.registry_auth").logout(server) then
  print("Removing login credentials for " .. server)
else
  print("Not logged in to " .. server)
end
