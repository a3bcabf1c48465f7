--- core_child: run spec code in a forked (or cloned) child, safely.
--
-- The child always ends with core._exit: it never returns into busted. Its
-- function's integer result is the exit code (default 0); an error is sent
-- to the parent over a pipe and the child exits 99.
local core = require "ctr.core"
local M = {}

local function read_all(fd)
  local parts = {}
  while true do
    local s = core.read(fd, 4096)
    if not s or s == "" then break end
    parts[#parts + 1] = s
  end
  return table.concat(parts)
end
M.read_all = read_all

--- Start fn in a child; returns pid and the read end of its error pipe.
-- flags: nil for fork, or clone flags ("mnt,uts,pid").
function M.start(fn, flags)
  local r, w = assert(core.pipe())
  local pid, err
  if flags then pid, err = core.clone(flags) else pid, err = core.fork() end
  assert(pid, err)
  if pid == 0 then
    local ok, res = pcall(fn)
    if ok then core._exit(math.type(res) == "integer" and res or 0) end
    pcall(core.write, w, tostring(res))
    core._exit(99)
  end
  w:close()
  return pid, r
end

--- Wait for a child from start(): how, code, error text, exit_code.
function M.finish(pid, r)
  local msg = read_all(r)
  r:close()
  local _, how, code, exit_code = core.waitpid(pid)
  return how, code, msg, exit_code
end

--- start + finish.
function M.run(fn, flags)
  return M.finish(M.start(fn, flags))
end

--- Assert a child result is a clean exit with code (default 0).
function M.assert_exit(code, how, got, msg)
  assert(how == "exited" and got == (code or 0),
    ("child %s %s, wanted exit %d: %s"):format(tostring(how), tostring(got), code or 0, msg or ""))
end

--- A fresh temporary directory.
function M.tmpdir()
  local p = io.popen("mktemp -d /tmp/luac-ctr-spec.XXXXXX")
  local d = p:read("l"); p:close()
  return d
end

function M.rmdir(d)
  if d and d:match("^/tmp/luac%-ctr%-spec%.") then os.execute("rm -rf '" .. d .. "'") end
end

--- fdinfo flags of our fd n (octal string -> integer).
function M.fd_flags(n)
  for line in io.lines("/proc/self/fdinfo/" .. n) do
    local f = line:match("^flags:%s+(%d+)")
    if f then return tonumber(f, 8) end
  end
end

return M
