-- import: Import a root filesystem tarball as an image
-- luac-ctr import [-c INSTRUCTION]... [-m MESSAGE] TARBALL|- [NAME[:TAG]]
-- The tarball may be plain, gzip, xz, zstd or bzip2 (as `docker export`
-- writes it). Prints the new image id. Bad input: one line on stderr, exit
-- 125, nothing left in the store.
local cli = require "ctr.cli"
local image = require "ctr.image"
local util = require "ctr.util"

local function fail(e, code)
  util.die(type(e) == "table" and e.msg or tostring(e), type(e) == "table" and e.code or code)
end

local ok, opts, args = pcall(cli.parse, util.script_args(...), {
  { "c", "change", "list", "Apply a Dockerfile instruction to the image (CMD, ENTRYPOINT, ENV, LABEL, STOPSIGNAL, USER, WORKDIR)" },
  { "m", "message", "string", "Set a comment for the imported image" },
}, {
  usage = "import [OPTIONS] TARBALL [REPOSITORY[:TAG]]",
  description = "Import the contents from a tarball to create a filesystem image",
  command = "import",
})
if not ok then fail(opts, 125) end
if #args < 1 or #args > 2 then
  util.die('"import" requires 1 or 2 arguments: TARBALL [REPOSITORY[:TAG]]\nSee \'luac-ctr import --help\'.', 125)
end

require("ctr.gc").auto() -- leftovers of killed commands, at most every 10 minutes
local ok2, img = pcall(image.import, args[1], args[2], { change = opts.change, message = opts.message })
if not ok2 then fail(img, 125) end
print(img.id)
