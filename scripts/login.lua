-- login: Log in to a registry
-- luac-ctr login -u USER (-p PASSWORD | --password-stdin) [SERVER]
-- The credentials are checked against the registry, then stored in docker's
-- config.json ($DOCKER_CONFIG/config.json or ~/.docker/config.json, mode
-- 0600) where pull and push find them. SERVER defaults to docker.io.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local auth = require "ctr.registry_auth"

local opts, args = cli.parse({ ... }, {
  { "u", "username", "string", "Username" },
  { "p", "password", "string", "Password" },
  { nil, "password-stdin", "flag", "Take the password from stdin" },
}, {
  usage = "login [OPTIONS] [SERVER]",
  description = "Log in to a registry",
  command = "login",
})
if #args > 1 then errors.raise(125, "\"login\" requires at most 1 argument.\nSee 'luac-ctr login --help'.") end
local password = opts.password
if opts.password_stdin then
  if password then errors.raise(125, "--password and --password-stdin are mutually exclusive") end
  password = (io.stdin:read("a") or ""):gsub("[\r\n]+$", "")
end
if not opts.username or not password then
  errors.raise(125, "login needs --username and --password (or --password-stdin)")
end
local server = auth.server_name(args[1])
auth.login(server, opts.username, password)
print("Login Succeeded")
