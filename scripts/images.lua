-- images: List images
-- luac-ctr images [-q] [--no-trunc] [--digests] [--format json|TEMPLATE] [REPOSITORY[:TAG]]
-- Columns: REPOSITORY TAG (DIGEST) IMAGE ID CREATED SIZE, newest first, one row per tag.
-- --format: docker's fields (.ID .Repository .Tag .Digest .CreatedAt
-- .CreatedSince .Size ...), "json" (a JSON object a line), "table ..."
-- (with a header).
local cli = require "ctr.cli"
local image = require "ctr.image"
local util = require "ctr.util"
local errors = require "ctr.errors"

local opts, args = cli.parse({ ... }, {
  { "q", "quiet", "flag", "Only show image IDs" },
  { "a", "all", "flag", "Show all images (default hides the intermediate images of builds)" },
  { nil, "no-trunc", "flag", "Don't truncate output" },
  { nil, "digests", "flag", "Show digests" },
  { nil, "format", "string", "Format output: json, or a template like '{{.Repository}}:{{.Tag}}' ('table ...': with a header)" },
}, { usage = "images [OPTIONS] [REPOSITORY[:TAG]]", description = "List images", command = "images" })
if #args > 1 then errors.raise(125, "\"images\" requires at most 1 argument.\nSee 'luac-ctr images --help'.") end

-- optional filter: "name" (any tag) or "name:tag"
local want_name, want_tag = args[1], nil
if want_name then want_name, want_tag = want_name:match("^(.-):([^:/]*)$") or want_name, want_name:match(":([^:/]*)$") end

local rows = { { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE" } }
if opts.digests then table.insert(rows[1], 3, "DIGEST") end
-- the digest img has in repository name (from repo_digests "name@sha256:...")
local function digest_of(img, name)
  for _, rd in ipairs(img.repo_digests or {}) do
    local n, d = rd:match("^(.*)@(sha256:%x+)$")
    if n == name then return d end
  end
  return "<none>"
end
local ids, records = {}, {}
for _, img in ipairs(image.list()) do
  if img.build_step and #img.repo_tags == 0 and not opts.all then goto continue end -- a build's intermediate image (-a shows it)
  local tags = {}
  for _, t in ipairs(img.repo_tags) do
    local n, tg = t:match("^(.*):([^:/]*)$")
    tags[#tags + 1] = { n, tg }
  end
  if #tags == 0 then tags[1] = { "<none>", "<none>" } end
  local id = opts.no_trunc and img.id or util.short_id(img.id)
  for _, t in ipairs(tags) do
    if (not want_name or t[1] == want_name) and (not want_tag or t[2] == want_tag) then
      rows[#rows + 1] = { t[1], t[2], id, util.time_ago(img.created), util.human_size(img.size) }
      if opts.digests then table.insert(rows[#rows], 3, digest_of(img, t[1])) end
      ids[#ids + 1] = id
      records[#records + 1] = {
        ID = opts.no_trunc and "sha256:" .. img.id or id, Repository = t[1], Tag = t[2], Digest = digest_of(img, t[1]),
        CreatedAt = img.created or "", CreatedSince = util.time_ago(img.created), Size = util.human_size(img.size),
        VirtualSize = util.human_size(img.size), SharedSize = "N/A", UniqueSize = "N/A", Containers = "N/A",
      }
    end
  end
  ::continue::
end

-- docker's fields of an images template and their column titles
local HEADERS = {
  ID = "IMAGE ID", Repository = "REPOSITORY", Tag = "TAG", Digest = "DIGEST", CreatedAt = "CREATED AT",
  CreatedSince = "CREATED", Size = "SIZE", VirtualSize = "VIRTUAL SIZE", SharedSize = "SHARED SIZE",
  UniqueSize = "UNIQUE SIZE", Containers = "CONTAINERS",
}
if opts.format == "json" or opts.format == "{{json .}}" then
  for _, r in ipairs(records) do io.stdout:write(require("ctr.json").encode(r), "\n") end
elseif opts.format then
  io.stdout:write(require("ctr.format").render(opts.format, records, HEADERS, {
    fields = HEADERS, context = "*formatter.ImageContext", missing = "",
    default = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}" }))
elseif opts.quiet then
  if #ids > 0 then io.stdout:write(table.concat(ids, "\n"), "\n") end
else
  io.stdout:write(util.columns(rows))
end
