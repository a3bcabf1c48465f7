-- reliability (#root): trees deeper than PATH_MAX are removed like any
-- other (core/fs.c walks with fds, never a path buffer), in a container's
-- own files and in an imported image's layer.
local U = require "spec_util"
local core = require "ctr.core"
local _ -- what multiple assignments throw away (not a global)

-- 60 components of 100 characters: a 6059-character relative path.
local DEPTH, COMP = 60, ("x"):rep(96)

-- A tar with busybox, bin/sh and a file at the end of a 6000-character path.
local function deep_tar(work)
  local py = [[
import io, sys, tarfile
out, bb, depth, comp = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
t = tarfile.open(out, "w", format=tarfile.PAX_FORMAT)
def d(p):
    ti = tarfile.TarInfo(p); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
d("bin")
with open(bb, "rb") as f: data = f.read()
ti = tarfile.TarInfo("bin/busybox"); ti.size = len(data); ti.mode = 0o755
t.addfile(ti, io.BytesIO(data))
ti = tarfile.TarInfo("bin/sh"); ti.type = tarfile.SYMTYPE; ti.linkname = "busybox"; t.addfile(ti)
p = "deep"
d(p)
for i in range(depth):
    p += "/%04d%s" % (i, comp); d(p)
ti = tarfile.TarInfo(p + "/end"); ti.size = 4; t.addfile(ti, io.BytesIO(b"end\n"))
t.close()
]]
  local f = assert(io.open(work .. "/mk.py", "w")); f:write(py); f:close()
  local tar = work .. "/deep.tar"
  local _, err, code = U.sh("python3 " .. U.q(work .. "/mk.py") .. " " .. U.q(tar) .. " /bin/busybox "
    .. DEPTH .. " " .. COMP)
  assert.are.equal(0, code, err)
  return tar
end

-- Every file left under the state root (locks aside).
local function files_under(root)
  local out = U.sh("cd " .. U.q(root) .. " && find . -mindepth 2 ! -path './locks/*' | head -5")
  return out
end

describe("trees deeper than PATH_MAX #root", function()
  local root, work

  before_each(function()
    root = U.tmproot()
    work = U.sh("mktemp -d /tmp/luac-ctr-deep.XXXXXX"):gsub("%s+$", "")
  end)
  after_each(function()
    U.cleanup(root)
    U.sh("rm -rf " .. U.q(work))
  end)

  it("remove_all holds a bounded number of fds, however deep the tree", function()
    -- 400 levels under a limit of 24 open files more than inherited: a walk holding one fd per level cannot
    local top = work .. "/t"
    local _, err, code = U.sh("mkdir " .. U.q(top) .. " && cd " .. U.q(top)
      .. " && i=0 && while [ $i -lt 400 ]; do mkdir a && cd a && : > f || exit 1; i=$((i+1)); done")
    assert.are.equal(0, code, err)
    local out
    -- 24 fds more than the shell inherits from this (long-lived) busted process
    -- (in braces: what ulimit itself says is captured too)
    out, err, code = U.sh("{ n=$(ls /proc/$$/fd | wc -l); ulimit -n $((n + 24)) && " .. U.q(U.launcher) .. " -e " .. U.q(
      "local c = require 'ctr.core'; print(c.du(" .. ("%q"):format(top) .. ") > 0, assert(c.remove_all("
      .. ("%q"):format(top) .. ")))") .. "; }")
    assert.are.equal(0, code, err)
    assert.are.equal("true\ttrue\n", out)
    assert.is_false(core.exists(top))
  end)

  it("rm -f removes a container whose files nest deeper than PATH_MAX (after a commit of it), leaving nothing", function()
    local script = ("i=0; while [ $i -lt %d ]; do d=$(printf %%04d%s $i); mkdir $d && cd -P $d || exit 1; "
      .. "i=$((i+1)); done; echo end > end; echo $((i * 100))"):format(DEPTH, COMP)
    local out, err, code = U.ctr(root, { "run", "--name", "deep", "--network", "none", "busybox",
      "sh", "-c", "cd /tmp && " .. script })
    assert.are.equal(0, code, err)
    assert.is_true(tonumber(out) > 4096, out)
    _, err, code = U.ctr(root, { "commit", "deep", "deepc:1" })
    assert.are.equal(0, code, err)
    out, err, code = U.ctr(root, { "run", "--rm", "--network", "none", "deepc:1", "sh", "-c",
      "cd /tmp && while cd -P 0* 2>/dev/null; do :; done; cat end" })
    assert.are.equal(0, code, err)
    assert.are.equal("end\n", out)
    _, err, code = U.ctr(root, { "rmi", "deepc:1" })
    assert.are.equal(0, code, err)
    out, err, code = U.ctr(root, { "rm", "-f", "deep" })
    assert.are.equal(0, code, err)
    assert.are.equal("deep\n", out)
    assert.are.equal("", files_under(root))
    assert.same({}, U.mounts_under(root))
  end)

  it("an imported image with a 6000-character path imports, runs and is removed by rmi", function()
    local tar = deep_tar(work)
    local _, err, code = U.ctr(root, { "import", tar, "deep:1" })
    assert.are.equal(0, code, err)
    local path = "/deep"
    for i = 0, DEPTH - 1 do path = path .. ("/%04d%s"):format(i, COMP) end
    local out
    out, err, code = U.ctr(root, { "run", "--rm", "--network", "none", "deep:1", "sh", "-c",
      "cd /deep && while cd -P 0* 2>/dev/null; do :; done; cat end" })
    assert.are.equal(0, code, err)
    assert.are.equal("end\n", out)
    assert.is_true(#path > 6000)
    out, err, code = U.ctr(root, { "rmi", "deep:1" })
    assert.are.equal(0, code, err)
    assert.are.equal("", files_under(root))
  end)
end)
