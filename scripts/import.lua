-- import: Import a root filesystem tarball as an image
-- luac-ctr import [-c INSTRUCTION]... [-m MESSAGE] TARBALL|- [NAME[:TAG]]
-- The tarball may be plain, gzip, xz, zstd or bzip2 (as `docker export`
-- writes it). Prints the new image id (sha256:<64 hex>, as docker). Bad input: one line on stderr, exit
-- 125, nothing left in the store.
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local image = require "ctr.image"

local _, args, o = cli.parse({ ... }, {
  { "c", "change", "list", "Apply a Dockerfile instruction to the image (CMD, ENTRYPOINT, ENV, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)",
    key = "change" },
  { "m", "message", "string", "Set a comment for the imported image", key = "message" },
}, {
  usage = "import [OPTIONS] TARBALL [REPOSITORY[:TAG]]",
  description = "Import the contents from a tarball to create a filesystem image",
  command = "import",
})
if #args < 1 or #args > 2 then
  errors.raise(125, "\"import\" requires 1 or 2 arguments: TARBALL [REPOSITORY[:TAG]]\nSee 'luac-ctr import --help'.")
end

require("ctr.gc").auto() -- leftovers of killed commands, at most every 10 minutes
local id = "sha256:" .. image.import(args[1], args[2], o).id
require("ctr.eventlog").record("image", "import", id, { name = args[2] or id })
io.stdout:write(id, "\n")
