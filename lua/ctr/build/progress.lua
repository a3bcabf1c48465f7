--- ctr.build.progress: the live view of a build on a terminal (--progress
-- tty; auto on a terminal).
--
-- While the build runs, its stdout and stderr (the progress lines and the
-- RUN steps' output) go to a pipe read by a forked renderer, which draws on
-- the terminal: the steps done, each with its time ("CACHED" for a cache
-- hit), and below them, redrawn in place, the current step with its
-- running time and the last lines of its output. At the end: the COMMIT,
-- the total time and the tags. A step that fails (or a build interrupted)
-- leaves its full output (its last 200 lines) on the screen. The progress
-- lines travel in the pipe as marker lines with a random nonce: a step's
-- output cannot forge them.
local core = require "ctr.core"
local state = require "ctr.state"

local M = {}

local SHOWN, KEPT = 6, 200

local function now() return core.clock("monotonic") end

-- A line fit for the terminal: no control characters, at most w bytes.
local function clean(s, w)
  s = s:gsub("\t", "    "):gsub("[%c\127]", "?")
  if #s > w then s = s:sub(1, math.max(w - 1, 1)) .. "~" end
  return s
end

local function secs(t) return ("%.1fs"):format(t) end

-- The renderer: reads r until its end, draws on fd 1.
local function render(r, nonce)
  local out = io.stdout
  local rows, cols = core.get_winsize(1)
  cols = (rows and cols and cols > 20) and cols or 80
  local marker = "\27_" .. nonce
  local t0, cur, lines, partial, drawn, tail, steps = now(), nil, {}, "", 0, {}, 0
  local finished, failed = false, false
  local function head(s, t, extra)
    local label = s.text:gsub("^STEP (%d+/%d+): ", "[%1] ")
    local right = extra or secs(t)
    local left = clean(" => " .. label, cols - #right - 2)
    return left .. (" "):rep(math.max(1, cols - 1 - #right - #left)) .. right
  end
  local function clear()
    if drawn > 0 then out:write(("\27[%dA\27[J"):format(drawn)) end
    drawn = 0
  end
  local function draw()
    clear()
    if not cur then return end
    local t = { head(cur, now() - cur.start) }
    for i = math.max(1, #lines - SHOWN + 1), #lines do t[#t + 1] = "\27[2m   " .. clean(lines[i], cols - 4) .. "\27[0m" end
    out:write(table.concat(t, "\n"), "\n")
    drawn = #t
    out:flush()
  end
  local function close_step()
    if not cur then return end
    clear()
    out:write(head(cur, now() - cur.start, cur.cached and "CACHED" or nil), "\n")
    cur, lines = nil, {}
  end
  local function event(kind, text)
    if kind == "S" then
      close_step()
      steps = steps + 1
      cur = { text = text, start = now() }
    elseif kind == "I" then
      if text:match("^%-%-> Using cache") and cur then cur.cached = true
      elseif text:match("^COMMIT") then close_step(); cur = { text = text, start = now() }
      elseif text:match("^Successfully tagged") or (text:match("^%-%-> %x+$") and cur and
          cur.text:match("^COMMIT")) then tail[#tail + 1] = text end
    elseif kind == "D" then
      close_step()
      finished = true
    end
  end
  local function line(s)
    if s:sub(1, #marker) == marker then
      event(s:sub(#marker + 1, #marker + 1), s:sub(#marker + 3))
    else
      lines[#lines + 1] = s
      if #lines > KEPT then table.remove(lines, 1) end
    end
  end
  while true do
    local ready = core.poll({ { r, "in" } }, 200)
    if ready and #ready > 0 then
      local s = core.read(r, 65536)
      if not s or s == "" then break end
      partial = partial .. s
      while true do
        local i = partial:find("\n", 1, true)
        if not i then break end
        line(partial:sub(1, i - 1))
        partial = partial:sub(i + 1)
      end
    end
    draw()
  end
  if partial ~= "" then line(partial) end
  clear()
  if not finished then
    failed = true
    if cur then
      out:write(head(cur, now() - cur.start, "ERROR"), "\n")
      for _, l in ipairs(lines) do out:write("   ", clean(l, cols - 4), "\n") end
    end
  end
  if not failed then
    out:write((" => built in %s, %d step%s\n"):format(secs(now() - t0), steps, steps == 1 and "" or "s"))
    for _, l in ipairs(tail) do out:write(l, "\n") end
  end
  out:flush()
end

--- Start the view: from now on our stdout and stderr go to the renderer.
-- Returns a session with say(line) (a progress line: "STEP ...", "-->
-- ...", "COMMIT ...") and finish(ok) (restores stdout and stderr, waits for
-- the renderer to draw the end).
function M.start()
  local nonce = state.new_id():sub(1, 16)
  local r, w = core.pipe()
  io.stdout:flush(); io.stderr:flush()
  local pid = core.fork()
  if pid == 0 then
    w:close()
    state.after_fork()
    for _, sig in ipairs({ "INT", "TERM", "PIPE" }) do core.signal(sig, "ignore") end -- it ends with our pipe
    pcall(render, r, nonce)
    core._exit(0)
  end
  r:close()
  local saved = { core.dup(1), core.dup(2) }
  core.dup2(w, 1); core.dup2(w, 2); w:close()
  local s = {}
  function s.say(text)
    io.stdout:write("\27_", nonce, text:match("^STEP ") and "S " or "I ", text, "\n")
    io.stdout:flush()
  end
  function s.finish(ok)
    if ok then io.stdout:write("\27_", nonce, "D \n") end
    io.stdout:flush(); io.stderr:flush()
    core.dup2(saved[1], 1); core.dup2(saved[2], 2)
    saved[1]:close(); saved[2]:close()
    while not pcall(core.waitpid, pid) do end -- (an interrupt meanwhile: the renderer ends with the pipe)
  end
  return s
end

--- The progress mode of a build: "tty" or "plain" for mode ("auto": tty
-- when our stdout is a terminal and TERM is not dumb, and not quiet).
function M.mode(mode, quiet)
  if quiet then return "plain" end
  if mode == "auto" then
    return (core.isatty(1) and os.getenv("TERM") ~= "dumb") and "tty" or "plain"
  end
  return mode or "plain"
end

return M
