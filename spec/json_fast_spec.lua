-- core.json_decode's fast path (bindings/l_json.c, fast_decode) against
-- jansson's decode (called without the fast argument): the same value, integers
-- and floats, markers, even the order next() walks the tables in, or the
-- same error, for a state.json, the texts the fast path must hand over
-- (escapes, bytes that are not UTF-8, null, duplicates, big numbers,
-- deep nesting, bad syntax) and thousands of random mutations of them.
-- fuzz/json.lua checks the same property under libFuzzer.
local core = require "ctr.core"
local json = require "ctr.json"

local AMT, OMT = { __jsontype = "array" }, { __jsontype = "object" }

local same = require "json_same"

-- the keys a listing keeps (ps's), and a few that are not in the texts
local KEYS = { name = true, created = true, command = true, network = true, status = true, a = true, k = true }

-- text decoded both ways, whole and with only KEYS kept at the top
local function check(text)
  local fv, ferr = core.json_decode(text, AMT, OMT, true)
  local jv, jerr = core.json_decode(text, AMT, OMT)
  if not same(fv, jv) or ferr ~= jerr then
    error(("fast decode differs from jansson's for %s: %s / %s"):format(text:sub(1, 300):gsub("\n", " "),
      tostring(ferr), tostring(jerr)), 2)
  end
  local kv, kerr = core.json_decode(text, AMT, OMT, true, KEYS)
  local jkv, jkerr = core.json_decode(text, AMT, OMT, false, KEYS)
  if not same(kv, jkv) or kerr ~= jkerr then
    error(("fast decode of KEYS differs from jansson's for %s: %s / %s"):format(text:sub(1, 300):gsub("\n", " "), tostring(kerr), tostring(jkerr)), 2)
  end
  -- the same members as the whole decode, and an error for the same texts
  if (fv == nil) ~= (kv == nil) or ferr ~= kerr then error(("KEYS decode fails differently for %q"):format(text), 2) end
  if type(fv) == "table" and getmetatable(fv) == OMT then
    for k, v in pairs(fv) do
      if not same(kv[k], KEYS[k] and v or nil) then error(("KEYS decode differs at %s for %q"):format(k, text), 2) end
    end
    for k in pairs(kv) do
      if fv[k] == nil then error(("KEYS decode has %s, not in %q"):format(k, text), 2) end
    end
  end
  return fv, ferr
end

local STATE = json.encode({
  id = ("ab"):rep(32), name = "web", image = "busybox", command = { "sh", "-c", "echo \"hi\"\n\tx\\y/z é" },
  created = 1700000000, started_at = 1700000001, finished_at = 1700000002, exit_code = 137, signal = 9,
  status = "exited", pid = 4242, starttime = 123456789012, oom_killed = false, tty = true,
  labels = json.object({ a = "1", ["é"] = "ü" }), host = json.array({}), resources = { cpus = 0.5, memory = 67108864 },
  network = { mode = "bridge", ports = { { host_ip = "0.0.0.0", host_port = 8080, container_port = 80, proto = "tcp" } } },
  userns = { mode = "auto", uid = { { containerID = 0, hostID = 100000, size = 65536 } } },
  supervisor = { pid = 1, starttime = 2 }, restart = { Name = "no", MaximumRetryCount = 0 },
}, { indent = true })

local EDGES = {
  "", " ", "[]", "{}", "[ ]", "{ }", " [1] ", "null", "true", "false", "truex", "[true1]", "nul", "0", "-0", "-0.0",
  "01", "-", "1.", ".5", "+1", "1e", "1e+", "1E+2", "1.5e-3", "1e400", "-1e400", "1e-400", "123456789012345678",
  "1234567890123456789", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
  "-9223372036854775809", '"a', '"\\"', '"\\u0041"', '"\\ud83d\\ude00"', '"\\ud800"', '"\\udc80"', '"\\u0000"',
  '"\\x"', '"\\/"', '"a\1b"', '"\127"', '"\255"', '"\237\160\128"', '"\192\128"', '"\240\159\152\128"',
  '"\244\144\128\128"', '{"a":1,"a":2}', '{"a":null,"a":1}', '{"a":null}', "[null]", "[1,null,2]", '{"a":1,}',
  "[1,]", "[1 2]", '{"a" 1}', '{a:1}', '{"a":1}x', '{"a":1} ', "\239\187\191{}", "{}\0", "[1]\f", "\f[1]",
  "[1,\r\n\t2]", ("["):rep(32) .. ("]"):rep(32), ("["):rep(33) .. ("]"):rep(33), ("["):rep(250) .. ("]"):rep(250),
  '{"":1}', '{"\\n":"\\t"}', '["\\b\\f\\n\\r\\t\\"\\\\\\/"]', '{"k":"' .. ("x"):rep(100) .. '"}',
  "[" .. ("1,"):rep(3000) .. "1]", '{"x":{"a":1,"a":2}}', '{"x":{"a":1,"b":2},"x":3}', '{"x":1,"name":2,"x":3}',
  '{"x":{"a\\/":1,"a/":2}}', '{"x\\/":1,"x/":2}', '{"x":[1,{"k":{}},"\\n"],"k":[[]]}', '{"x":null,"k":1}',
  '{"k":null}', '{"x":01}', '{"x":1e400}', '{"x":99999999999999999999}', '{"x":"\\u0041"}', '{"x":"\255"}',
  '{"x":{' .. ('"k%d":1,'):rep(70):format(table.unpack((function() local t = {} for i = 1, 70 do t[i] = i end return t end)())) .. '"z":1}}',
  '{"x":' .. ("["):rep(250) .. ("]"):rep(250) .. ',"name":1}', '{"x":{"y":' .. ("["):rep(199) .. ("]"):rep(199) .. '},"k":1}',
  '{"x":{"y":' .. ("["):rep(198) .. ("]"):rep(198) .. '},"k":1}', '{"x":' .. ("[{\"a\":"):rep(120) .. "1" .. ("}]"):rep(120) .. '}',
  '{"x":[' .. ("["):rep(199) .. ("]"):rep(199) .. ',null]}', '{"x":{"y":null,"z":' .. ("["):rep(199) .. ("]"):rep(199) .. '}}',
  STATE, STATE .. "x", STATE:sub(1, 200), (STATE:gsub('"tty":true', '"tty":true,"tty":false')),
}

describe("json fast decode", function()
  it("gives jansson's value or error for the edge cases", function()
    for _, t in ipairs(EDGES) do check(t) end
  end)

  it("json.decode ignores a second argument that is not a key set (json.decode(f()) with extra results)", function()
    local v = json.decode('{"a": 1, "b": [2]}', "not keys", 3)
    assert.are.equal(1, v.a)
    assert.are.equal(2, v.b[1])
    assert.are.same({ a = 1 }, (json.decode('{"a": 1, "b": 2}', { a = true })))
  end)

  it("decodes a state.json on the fast path, as jansson does", function()
    local v = check(STATE)
    assert.equal("web", v.name)
    assert.equal("integer", math.type(v.created))
    assert.equal("float", math.type(v.resources.cpus))
    assert.equal("object", getmetatable(v.labels).__jsontype)
    assert.equal("array", getmetatable(v.host).__jsontype)
    assert.equal('sh -c echo "hi"\n\tx\\y/z é', table.concat(v.command, " "))
  end)

  it("json.read_under reads and decodes files as read_file_stat and decode do", function()
    local dir = assert(core.mkdtemp("/tmp/json-fast-XXXXXX"))
    local names, texts = {}, {}
    for i, t in ipairs(EDGES) do
      names[i], texts[i] = ("d%03d"):format(i), t
      assert(core.mkdir(dir .. "/" .. names[i], 448))
      local f = assert(io.open(dir .. "/" .. names[i] .. "/state.json", "wb"))
      f:write(t)
      f:close()
    end
    local n = #names
    names[n + 1] = "missing" -- no such directory
    assert(core.mkdir(dir .. "/isdir", 448))
    assert(core.mkdir(dir .. "/isdir/state.json", 448))
    names[n + 2] = "isdir" -- state.json is a directory
    names[n + 3] = ".."
    names[n + 4] = "a/b"
    names[n + 5] = "d001\0/x" -- not d001
    for _, keys in ipairs({ false, KEYS }) do
      local values, infos = json.read_under(dir, names, "state.json", keys or nil)
      for i = 1, n do
        local text, st = core.read_file_stat(dir .. "/" .. names[i] .. "/state.json")
        assert.equal(("%d:%d:%d"):format(st.ino, st.size, st.mtime_ns), infos[i])
        local v = values[i]
        if type(v) == "table" then
          assert.is_true(same(v, (json.decode(text, keys or nil))), texts[i])
        else
          assert.equal(text, v)
        end
      end
      for i = n + 1, n + 2 do
        local _, err = core.read_file_stat(dir .. "/" .. names[i] .. "/state.json")
        assert.is_false(values[i])
        assert.equal(err, infos[i])
      end
      assert.is_false(values[n + 3])
      assert.matches("Invalid argument", infos[n + 3])
      assert.is_false(values[n + 4])
      assert.is_false(values[n + 5])
    end
    local v, err = json.read_under(dir .. "/nope", names, "state.json")
    assert.is_nil(v)
    assert.matches("^open .*/nope: No such file", err)
    core.remove_all(dir)
  end)

  it("core.mtimes_under gives stat's mtime_ns, false for what it cannot stat", function()
    local dir = assert(core.mkdtemp("/tmp/json-fast-XXXXXX"))
    for _, n in ipairs({ "a", "b" }) do
      assert(core.mkdir(dir .. "/" .. n, 448))
      local f = assert(io.open(dir .. "/" .. n .. "/config.json", "w"))
      f:close()
    end
    assert(core.set_mtime(dir .. "/b/config.json", 1700000000123456789))
    local m = assert(core.mtimes_under(dir, { "a", "b", "c", "..", "a/b", "b\0/x" }, "config.json"))
    assert.equal(core.stat(dir .. "/a/config.json").mtime_ns, m[1])
    assert.equal(1700000000123456789, m[2])
    for i = 3, 6 do assert.is_false(m[i]) end
    assert.is_nil(core.mtimes_under(dir .. "/nope", { "a" }, "config.json"))
    core.remove_all(dir)
  end)

  it("agrees with jansson on random mutations", function()
    local seeds = { STATE, '{"a":[1,2.5,"x\\n",true,false,{"b":{}}],"c":-3,"x":{"k":[{"k":1}]}}' }
    local alphabet = '{}[]:,"\\ -01.eE+tfnulr/\0\1\127\128\192\237\255aZ'
    math.randomseed(15)
    for i = 1, 20000 do
      local s = seeds[i % #seeds + 1]
      for _ = 1, math.random(1, 3) do
        local p = math.random(1, #s + 1)
        local op = math.random(1, 3)
        local k = math.random(1, #alphabet)
        local c = alphabet:sub(k, k)
        if op == 1 then s = s:sub(1, p - 1) .. c .. s:sub(p)
        elseif op == 2 then s = s:sub(1, p - 1) .. s:sub(p + 1)
        else s = s:sub(1, p - 1) .. c .. s:sub(p + 1) end
      end
      check(s)
    end
  end)
end)
