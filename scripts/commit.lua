-- commit: Create a new image from a container's changes
--
-- luac-ctr commit [-c INSTRUCTION]... [-m MESSAGE] CONTAINER [REPOSITORY[:TAG]]
-- The new image is the container's image plus one layer: the container's
-- changes (deleted files stay deleted). -c applies Dockerfile instructions
-- (CMD, ENTRYPOINT, ENV, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR). A tag in use
-- moves to the new image. Works on running and stopped containers. Prints
-- the new image id.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"
local commit = require "ctr.commit"

local o, args, co = cli.parse({ ... }, {
  { "c", "change", "list", "Apply Dockerfile instruction to the created image", key = "change" },
  { "m", "message", "string", "Commit message", key = "message" },
  { "a", "author", "string", "Author (accepted; kept in the comment)" },
  { "p", "pause", "flag", "Pause the container during commit (default true; --pause=false)", key = "pause" },
}, { usage = "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]", description = "Create a new image from a container's changes.", command = "commit" })
if #args < 1 or #args > 2 then
  errors.raise(1, "\"commit\" requires at least 1 and at most 2 arguments.\nSee 'luac-ctr commit --help'.")
end
local c = container.must_get(args[1], 1)
if o.author then co.message = (co.message and co.message .. " " or "") .. "(author: " .. o.author .. ")" end
local img = commit.commit(c, args[2], co)
io.stdout:write("sha256:", img.id, "\n")
