--- ctr.container.image: a container's files as an image or a tarball:
-- Container:commit and Container:export, delegating to ctr.commit.
local object = require "ctr.container.object"

local M = {}
local Container = object.Container

--- Make a new image from the container's changes (docker commit; see
-- ctr.commit.commit): opts.ref "name[:tag]" (optional), opts.change (list
-- of Dockerfile instructions: "ENV A=1", "CMD [\"sh\"]", ...), opts.message,
-- opts.pause (default true: a running container is frozen while its files
-- are copied). Returns the image table; raises on errors, leaving nothing.
function Container:commit(opts)
  opts = require("ctr.check").api("Container:commit", opts)
  return require("ctr.commit").commit(self, opts.ref, opts)
end

--- Write the container's merged filesystem as a tar archive at path ("-":
-- standard output), as docker export does (see ctr.commit.export). Returns
-- true; raises on errors, leaving no partial file.
function Container:export(path)
  return require("ctr.commit").export(self, path)
end

return M
