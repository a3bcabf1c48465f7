-- login: Log in to a registry
-- luac-ctr login -u USER (-p PASSWORD | --password-stdin) [SERVER]
-- The credentials are checked against the registry, then stored in docker's
-- config.json ($DOCKER_CONFIG/config.json or ~/.docker/config.json, mode
-- 0600) where pull and push find them. SERVER defaults to docker.io.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local util = require "ctr.util"

local ok, opts, args = pcall(cli.parse, util.script_args(...), {
  { "u", "username", "string", "Username" },
  { "p", "password", "string", "Password" },
  { nil, "password-stdin", "flag", "Take the password from stdin" },
}, {
  usage = "login [OPTIONS] [SERVER]",
  description = "Log in to a registry",
  command = "login",
})
if not ok then errors.throw("invalid", "%s", errors.message(opts)) end
if #args > 1 then util.die('"login" requires at most 1 argument.\nSee \'luac-ctr login --help\'.', 125) end
local password = opts.password
if opts.password_stdin then
  if password then util.die("--password and --password-stdin are mutually exclusive", 125) end
  password = (io.stdin:read("a") or ""):gsub("[\r\n]+$", "")
end
if not opts.username or not password then
  util.die("login needs --username and --password (or --password-stdin)", 125)
end
local server = args[1] or "docker.io"
server = server:gsub("^https?://", ""):gsub("/.*$", "")
if server == "index.docker.io" or server == "registry-1.docker.io" then server = "docker.io" end
require("ctr.registry_auth").login(server, opts.username, password)
print("Login Succeeded")
