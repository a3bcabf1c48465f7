--- ctr.registry_progress: showing pull/push/load progress as docker does.
--
-- On a terminal, one line per layer redrawn in place with a bar, the bytes
-- and the rate; otherwise one line per layer and step ("Already exists",
-- "Download complete", "Pull complete", "Pushed", ...); nothing when quiet.
--
--   local show = require("ctr.registry_progress").new { quiet = false }
--   registry_pull.pull { ref = r, progress = show }
local core = require "ctr.core"
local util = require "ctr.util"

local M = {}

--- The words for each event status (without a terminal).
M.WORDS = { exists = "Already exists", downloaded = "Download complete", unpacked = "Pull complete",
  failed = "Download failed", pushed = "Pushed" }
--- Push says "Layer already exists" (as docker).
M.PUSH_WORDS = { exists = "Layer already exists", pushed = "Pushed", mounted = "Mounted from %s" }
--- Load says "Loading layer" (docker's bar) and "Loaded layer".
M.LOAD_WORDS = { exists = "Already exists", unpacked = "Loaded layer" }

local BAR = 30

--- The words for event ev from the table words ("Mounted from %s" names
-- ev.from). @return string
function M.word(words, ev)
  local w = words[ev.status] or ev.status
  return (w:gsub("%%s", function() return tostring(ev.from) end))
end

local function bar(frac)
  local n = math.floor(math.max(0, math.min(1, frac)) * BAR)
  return ("="):rep(math.max(0, n - 1)) .. (n > 0 and ">" or "") .. (" "):rep(BAR - n)
end

-- the text of the row for ev (terminal mode)
local function row_text(ev, started, words)
  local short = ev.digest:sub(8, 19)
  if ev.status == "downloading" then
    local dt = math.max(core.clock("monotonic") - started, 0.001)
    return ("%s: Downloading [%s] %s/%s %s/s"):format(short, bar(ev.current / math.max(ev.size or 1, 1)),
      util.human_size(ev.current), util.human_size(ev.size or 0), util.human_size(math.floor(ev.current / dt)))
  end
  return ("%s: %s"):format(short, M.word(words, ev))
end

--- A progress function for the events of pull, push and load. opts.quiet:
-- show nothing; opts.tty (default: whether stdout is a terminal); opts.out
-- (default io.stdout); opts.push, opts.load: push's or load's words. @return function(ev)
function M.new(opts)
  opts = opts or {}
  local out = opts.out or io.stdout
  local words = opts.push and M.PUSH_WORDS or opts.load and M.LOAD_WORDS or M.WORDS
  local tty = opts.tty
  if tty == nil then tty = core.isatty(1) end
  local rows, order, started, drawn = {}, {}, {}, 0
  return function(ev)
    if opts.quiet or not ev.digest or ev.status == "resolved" or ev.status == "done" then return end
    if not tty then
      if words[ev.status] then
        out:write(("%s: %s (%s)\n"):format(ev.digest:sub(8, 19), M.word(words, ev), util.human_size(ev.size or 0)))
        out:flush()
      end
      return
    end
    if not rows[ev.digest] then order[#order + 1] = ev.digest end
    started[ev.digest] = started[ev.digest] or core.clock("monotonic")
    rows[ev.digest] = row_text(ev, started[ev.digest], words)
    if drawn > 0 then out:write("\27[", drawn, "A") end
    for _, d in ipairs(order) do out:write("\27[2K", rows[d], "\n") end
    drawn = #order
    out:flush()
  end
end

--- A function printing one status line (and flushing) unless quiet: the
-- lines of pull and push around the per-layer progress.
-- @return function(s)
function M.status_line(quiet, out)
  out = out or io.stdout
  return function(s)
    if quiet then return end
    out:write(s, "\n")
    out:flush()
  end
end

return M
