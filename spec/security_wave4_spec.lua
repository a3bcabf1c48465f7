-- security, wave 4: attacks on the newest features (--init, volume copy-up,
-- shared namespaces, build's .dockerignore and COPY --chown, --sysctl,
-- --mount). Each test carries out the attack and failed before its fix.
--
-- Run as root (#root).
local U = require "spec_util"

local q = U.q
local root

local function run(args, opts) return U.ctr(root, args, opts) end

local function sh_ok(cmd)
  local out, err, code = U.sh("{ " .. cmd .. "; }")
  assert(code == 0, ("command failed (%d): %s\n%s"):format(code, cmd, err))
  return out
end

-- Every readable mapping of PID 1, read through /proc/1/mem, to
-- /tmp/pid1.mem in the container; then how many times each word turns up.
local READ_PID1 = [[
: > /tmp/pid1.mem
while read range perms rest; do
  case $perms in r*) ;; *) continue ;; esac
  s=$((0x${range%-*})); e=$((0x${range#*-}))
  [ "$s" -ge 0 ] && [ "$e" -gt "$s" ] || continue
  dd if=/proc/1/mem bs=4096 skip=$((s / 4096)) count=$(((e - s) / 4096)) 2>/dev/null >> /tmp/pid1.mem
done < /proc/1/maps
echo "bytes=$(wc -c < /tmp/pid1.mem)"
for w in "$@"; do echo "$w=$(tr -c 'A-Za-z0-9_:-' '\n' < /tmp/pid1.mem | grep -c -x -e "$w")"; done
echo "environ=$(wc -c < /proc/1/environ)"
]]

describe("security wave 4 #root", function()
  U.per_test_root(function(r) root = r end)

  describe("run --init", function()
    it("PID 1 holds nothing of the runtime's memory: a SYS_PTRACE container reads /proc/1/mem", function()
      -- the secret is the runtime's (a label, an env var of the caller); the
      -- script names it only in halves
      local secret = "LuacCtrWave4Secret" .. "Label77"
      local envsecret = "LuacCtrWave4Secret" .. "Env91"
      local out, err, code = U.sh("CALLER_SECRET=" .. envsecret .. " LUAC_CTR_ROOT=" .. q(root) .. " "
        .. q(U.launcher) .. " run --rm --init --cap-add SYS_PTRACE --network none --label probe=" .. secret
        .. " busybox sh -c " .. q(READ_PID1) .. " sh LuacCtrWave4Secret\"Label77\" LuacCtrWave4Secret\"Env91\" "
        .. "init")
      assert.are.equal(0, code, err)
      -- the read worked (PID 1's memory is there: its argv "init" at least)
      assert.is_truthy(tonumber(out:match("bytes=(%d+)")) > 0, out)
      assert.is_truthy(tonumber(out:match("\ninit=(%d+)")) > 0, out)
      assert.are.equal("0", out:match("Label77=(%d+)"), out)
      assert.are.equal("0", out:match("Env91=(%d+)"), out)
      assert.are.equal("0", out:match("environ=(%d+)"), out)
    end)
  end)
end)
