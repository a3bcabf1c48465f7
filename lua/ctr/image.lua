--- ctr.image: the image store.
--
-- An image is a stack of read-only layers plus a default config:
--
--   <root>/layers/<layer-id>/   a file tree, stored once and shared by every
--                               image that lists it (a layer above the first
--                               may hold overlayfs whiteouts and opaque dirs)
--   <root>/images/<id>.json     { id, name, tag, repo_tags = {"name:tag", ...},
--                                 layers = {bottom .. top layer ids},
--                                 config = { Env, Cmd, Entrypoint, WorkingDir,
--                                            User, StopSignal, Labels },
--                                 created = RFC 3339, size = bytes,
--                                 parent = image id, comment }
--
-- Layers of imported tarballs and pulled or loaded images are named by the
-- sha256 of their archive (ctr.registry_store), so the same tarball or
-- registry layer is unpacked once; images pulled or loaded also keep their
-- manifest and config as blobs (digest, repo_digests, blobs fields).
-- Containers mount overlayfs with lowerdir = image.lower_dirs(img) and their
-- own upper/work dirs. References: "name[:tag]" (tag "latest" by default),
-- a full id, or a unique id prefix. "busybox[:latest]" is built on first use
-- from the host's static /bin/busybox (Debian package busybox-static).
--
-- This module gathers the public functions of its parts, a module per concern:
--
--   ctr.image.ref       references "name[:tag]"
--   ctr.image.config    the default config, --change instructions
--   ctr.image.store     records and layers on disk, registering an image
--   ctr.image.busybox   the busybox:latest image built from the host's busybox
--   ctr.image.lookup    resolve, list, inspect
--   ctr.image.import    import, store_image (pull, load), add_layer_image (commit)
--   ctr.image.remove    tag, remove
--   ctr.image.history   history (docker history)
--   ctr.registry_image  the Image object, pull, push, save, load, prune
--
-- import, remove and history load on first use of one of their functions
-- (a `run` needs none of them); M.load_all() loads them now (the REPL does,
-- to list and complete them).
local ref = require "ctr.image.ref"
local config = require "ctr.image.config"
local store = require "ctr.image.store"
local busybox = require "ctr.image.busybox"
local lookup = require "ctr.image.lookup"

local M = {}

-- the module's values that live in a part loaded on first use: name -> the
-- part (same name there); tools/gendoc.lua reads the lazy(...) lines as re-exports
local lazy, load_parts = require("ctr.util").lazy_parts(M)
lazy(M, "import", "ctr.image.import")
lazy(M, "store_image", "ctr.image.import")
lazy(M, "import_stream", "ctr.image.import")
lazy(M, "add_layer_image", "ctr.image.import")
lazy(M, "tag", "ctr.image.remove")
lazy(M, "remove", "ctr.image.remove")
lazy(M, "history", "ctr.image.history")

--- Load every part of the module now (import, remove, history), as the
-- REPL does before it lists or completes them.
function M.load_all()
  load_parts()
  return M
end

--- The host's static busybox, the busybox image's only binary.
M.BUSYBOX = "/bin/busybox"
M.DEFAULT_PATH = config.DEFAULT_PATH

M.parse_ref = ref.parse_ref
M.layer_dir = store.layer_dir
M.apply_changes = config.apply_changes
M.ensure_busybox = busybox.ensure
M.resolve = lookup.resolve
M.lower_dirs = lookup.lower_dirs
M.list = lookup.list
M.inspect = lookup.inspect
M.containers_using = store.containers_using

-- ---- the object API (ctr.registry_image) ----------------------------------------------

local function object() return require "ctr.registry_image" end
--- The Image object for ref (methods tag, remove, inspect, push); raises
-- "not_found". See ctr.registry_image.
function M.get(r) return object().get(r) end
--- Pull from a registry: image.pull{ref=, platform=, progress=function(ev)}.
-- @return the Image
function M.pull(opts) return object().pull(opts) end
--- Push to a registry: image.push{ref=, image=, progress=}. @return the digest
function M.push(opts) return object().push(opts) end
--- Save images to an archive (docker-archive + OCI layout): image.save(refs, path).
function M.save(refs, path) return object().save(refs, path) end
--- Load an archive's images: image.load(path). @return list of Images
function M.load(path, opts) return object().load(path, opts) end
--- Remove unused images (untagged; opts.all: all) and unreferenced layers and blobs.
function M.prune(opts) return object().prune(opts) end

return M
