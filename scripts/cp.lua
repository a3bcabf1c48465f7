-- cp: Copy files/folders between a container and the local filesystem
--
-- luac-ctr cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-
-- luac-ctr cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH
-- docker's path rules: SRC_PATH ending in "/." copies what is in the
-- directory; a directory DEST_PATH receives SRC by its name; a missing
-- DEST_PATH is created (its parent must exist); "-" is a tar stream on
-- standard output or input. Container paths are resolved inside the
-- container only (a helper rooted in its files, confined so that it cannot
-- load anything from them); a running container is frozen while copying.
-- Files copied out belong to the caller (-a: the owners in the container),
-- files copied in to the container's root (-a: the source's owners). On a
-- terminal, docker's "Successfully copied SIZE to DEST" (not with -q).
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local container = require "ctr.container"

local o, args, co = cli.parse({ ... }, {
  { "a", "archive", "flag", "Archive mode (copy all uid/gid information)", key = "archive" },
  { "L", "follow-link", "flag", "Always follow symbol link in SRC_PATH", key = "follow_link" },
  { "q", "quiet", "flag", "Suppress progress output during copy" },
}, { usage = "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tluac-ctr cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
     description = "Copy files/folders between a container and the local filesystem.", command = "cp" })
if #args ~= 2 then errors.raise(1, "\"cp\" requires exactly 2 arguments.\nSee 'luac-ctr cp --help'.") end

-- "CONTAINER:PATH" -> CONTAINER, PATH; a local path (starting with "/" or
-- ".", or without ":") -> nil, the path
local function split(a)
  if a:match("^[/.]") then return nil, a end
  local ref, path = a:match("^([^:]*):(.*)$")
  if not ref then return nil, a end
  return ref, path
end
local sref, spath = split(args[1])
local dref, dpath = split(args[2])
if sref and dref then errors.raise(1, "copying between containers is not supported") end
if not sref and not dref then errors.raise(1, "must specify at least one container source") end
if (sref and spath == "") or (dref and dpath == "") then errors.raise(1, "path cannot be empty") end
local _, bytes
if sref then
  _, bytes = container.must_get(sref, 1):copy_from(spath, dpath, co)
else
  _, bytes = container.must_get(dref, 1):copy_to(spath, dpath, co)
end
-- docker's line, on a terminal only (as docker: its progress output is
-- suppressed without one)
if bytes and not o.quiet and require("ctr.core").isatty(2) then
  io.stderr:write("Successfully copied ", require("ctr.util").human_size(bytes), " to ", args[2], "\n")
end
