-- logout: Log out from a registry
-- luac-ctr logout [SERVER]
-- Removes the credentials login stored for SERVER (default docker.io).
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local auth = require "ctr.registry_auth"

local _, args = cli.parse({ ... }, {}, {
  usage = "logout [SERVER]",
  description = "Log out from a registry",
  command = "logout",
})
if #args > 1 then errors.raise(125, "\"logout\" requires at most 1 argument.\nSee 'luac-ctr logout --help'.") end
local server = auth.server_name(args[1])
if auth.logout(server) then
  print("Removing login credentials for " .. server)
else
  print("Not logged in to " .. server)
end
