-- tools/shape.lua: the Lua layer keeps its shape (issue 16). Usage:
--   lua5.4 tools/shape.lua [DIR]     (DIR: lua/ctr by default)
-- Fails (exit 1, one line per finding) when a module under DIR has more
-- than MAX_LINES lines, or raises a plain string: error("..."),
-- error(string.format(...)) or error(("..."):format(...)) instead of a
-- ctr.errors value (errors.throw). lua/ctr/errors.lua, which makes the
-- error values, is exempt from the second rule.
local MAX_LINES = 400

local function files(dir)
  local p = assert(io.popen("find " .. ("%q"):format(dir) .. " -name '*.lua' -type f | sort"))
  local t = {}
  for line in p:lines() do t[#t + 1] = line end
  p:close()
  return t
end

local STRING_RAISES = { 'error%("', "error%('", "error%(string%.format", 'error%(%("', "error%(%('", "error%(%[%[" }

local function check(path, out)
  local n = 0
  local exempt = path:match("/errors%.lua$")
  for line in io.lines(path) do
    n = n + 1
    local code = line:gsub("%-%-.*$", "")
    for _, pat in ipairs(STRING_RAISES) do
      if not exempt and code:find(pat) then
        out[#out + 1] = ("%s:%d: raises a plain string (use errors.throw(kind, ...)): %s"):format(path, n,
          line:match("^%s*(.-)%s*$"))
        break
      end
    end
  end
  if n > MAX_LINES then
    out[#out + 1] = ("%s: %d lines (more than %d: split it by concern)"):format(path, n, MAX_LINES)
  end
end

local out = {}
for _, f in ipairs(files(arg[1] or "lua/ctr")) do check(f, out) end
for _, l in ipairs(out) do io.stderr:write(l, "\n") end
os.exit(#out == 0 and 0 or 1)
