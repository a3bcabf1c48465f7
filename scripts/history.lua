-- history: Show the history of an image
--
-- luac-ctr history [-H=false] [--no-trunc] [-q] [--format TEMPLATE|json] IMAGE
-- docker's table, newest first: IMAGE (the id of the entries that are a
-- local image, else <missing>), CREATED (how long ago), CREATED BY (cut at
-- 45 characters, ending in an ellipsis, unless --no-trunc), SIZE, COMMENT; -H=false
-- prints the created times as RFC 3339 and the sizes in bytes. A pulled
-- image shows its config's history; one made here (import, commit,
-- build) what the store knows of it (ctr.image.history). -q: the ids
-- only. --format: .ID .CreatedSince .CreatedAt .CreatedBy .Size .Comment,
-- "json" (an object a line), "table ..." (with a header).
local cli = require "ctr.cli"
local errors = require "ctr.errors"
local image = require "ctr.image"
local util = require "ctr.util"

local argv = { ... }
for i, a in ipairs(argv) do -- docker's bool shorthand with a value: -H=false
  if a == "--" then break end
  local v = a:match("^%-H=(.*)$")
  if v then argv[i] = "--human=" .. v end
end
local o, args = cli.parse(argv, {
  { "H", "human", "flag", "Print sizes and dates in human readable format (default true; -H=false: RFC 3339 and bytes)" },
  { nil, "no-trunc", "flag", "Don't truncate output" },
  { "q", "quiet", "flag", "Only show image IDs" },
  { nil, "format", "string", "Format output: json, or a template like '{{.ID}} {{.CreatedBy}}' ('table ...': with a header)" },
}, { usage = "history [OPTIONS] IMAGE", description = "Show the history of an image.", command = "history" })
if #args ~= 1 then errors.raise(1, "\"history\" requires exactly 1 argument.\nSee 'luac-ctr history --help'.") end
local human = o.human ~= false

local ok, hist = pcall(image.history, args[1])
if not ok then
  errors.rethrow_interrupt(hist)
  errors.raise(1, "Error response from daemon: %s", errors.message(hist))
end

-- docker's stringutils.Ellipsis: at most n characters, the last one "…"
local function cut(s, n)
  if o.no_trunc or (utf8.len(s) or #s) <= n then return s end
  local out, i = {}, 0
  for _, c in utf8.codes(s) do
    i = i + 1
    if i >= n then break end
    out[#out + 1] = utf8.char(c)
  end
  return table.concat(out) .. "…"
end

-- what an image sends us is anybody's: no control character reaches the
-- terminal, bytes that are not UTF-8 become "?"
local function clean(s)
  s = tostring(s):gsub("%c", " ")
  if not utf8.len(s) then s = s:gsub("[\128-\255]", "?") end
  return s
end

local records, ids = {}, {}
for _, h in ipairs(hist) do
  local id = h.id
  if id ~= "<missing>" and not o.no_trunc then id = util.short_id(id:gsub("^sha256:", "")) end
  local created_at = h.created and os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(h.created)) or ""
  local by = clean(h.created_by)
  records[#records + 1] = {
    ID = id,
    CreatedSince = h.created and (human and util.time_ago(h.created) or created_at) or "N/A",
    CreatedAt = created_at,
    CreatedBy = cut(by, 45),
    Size = human and util.human_size(h.size) or tostring(h.size),
    Comment = clean(h.comment),
  }
  ids[#ids + 1] = id
end

local HEADERS = { ID = "IMAGE", CreatedSince = "CREATED", CreatedAt = "CREATED AT", CreatedBy = "CREATED BY",
  Size = "SIZE", Comment = "COMMENT" }
if o.format == "json" or o.format == "{{json .}}" then
  for _, r in ipairs(records) do io.stdout:write(require("ctr.json").encode(r), "\n") end
elseif o.format then
  io.stdout:write(require("ctr.format").render(o.format, records, HEADERS, { fields = HEADERS,
    context = "*formatter.historyContext", missing = "",
    default = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}" }))
elseif o.quiet then
  if #ids > 0 then io.stdout:write(table.concat(ids, "\n"), "\n") end
else
  local rows = { { "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT" } }
  for _, r in ipairs(records) do rows[#rows + 1] = { r.ID, r.CreatedSince, r.CreatedBy, r.Size, r.Comment } end
  io.stdout:write(util.columns(rows))
end
