-- build (#18): images from Containerfiles and from Lua builds. Every
-- instruction, multi-stage (--from, --target), ARG scoping, the cache (hit,
-- then a miss after a context change), .dockerignore, a failing RUN that
-- leaves nothing, COPYs that would leave the context refused; the image
-- config compared with what docker documents for the same file, and the
-- same Containerfile built by `buildah bud` (offline, from the same local
-- base image) compared by its files (modes, owners, sizes, COPY's mtimes)
-- and config; ADD of a URL from a loopback server; Lua builds (loops,
-- inline files, parallel builds); a build pushed to a loopback registry and
-- pulled back, and loaded by podman after save.
local U = require "spec_util"
local core = require "ctr.core"
local json = require "ctr.json"

local q = U.q
local tmp, root, ctx

local sh_ok = U.sh_ok

local function ctr(...) return U.ctr(root, { ... }) end
local function ok(...)
  local out, err, code = ctr(...)
  assert(code == 0, ("luac-ctr %s failed (%d):\n%s%s"):format(table.concat({ ... }, " "), code, out, err))
  return out, err
end

local write = U.write_file

local function config_of(ref) return json.decode(ok("image", "inspect", ref))[1].config end

local ALL = [[
# syntax=docker/dockerfile:1
# escape=\
ARG BASE=bbbase
ARG GREETING=hello
FROM $BASE AS builder
ARG MSG=hi
RUN echo "$MSG/${GREETING:-unset}" > /built.txt && \
    mkdir -p /out
# a comment between
COPY --chmod=755 run.sh /out/
FROM ${BASE}
LABEL org.example.k="v 1" other=2
ENV A=1 B="two words"
ENV C $A-x
ARG GREETING
COPY --from=builder /built.txt /app/built.txt
COPY --from=builder /out/run.sh /app/
COPY --chown=1000:1000 data/ /app/data/
COPY --chown=app:app a.txt /app/owned.txt
ADD files.tar /app/unpacked/
COPY *.txt /app/txt/
WORKDIR /app
WORKDIR sub
RUN ["sh", "-c", "echo $A > exec.txt"]
RUN --network=none echo "$GREETING" > msg.txt
SHELL ["/bin/sh", "-c"]
USER 1000:1000
EXPOSE 8080 53/udp
VOLUME ["/data"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=2 CMD true
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo $A $B $C"]
]]

setup(function()
  tmp = U.tmproot()
  root = tmp .. "/root"
  ctx = tmp .. "/ctx"
  sh_ok("mkdir -p " .. q(tmp .. "/rootfs") .. " && cd " .. q(tmp .. "/rootfs") .. " && mkdir -p bin etc tmp && " ..
    "cp /bin/busybox bin/ && for a in sh cat ls echo mkdir true false id env; do ln -s busybox bin/$a; done && " ..
    "echo 'root:x:0:0:root:/root:/bin/sh' > etc/passwd && echo 'app:x:1000:1000::/home/app:/bin/sh' >> etc/passwd && " ..
    "echo 'root:x:0:' > etc/group && echo 'app:x:1000:' >> etc/group && tar -cf ../bb.tar .")
  ok("import", tmp .. "/bb.tar", "bbbase:latest")
  write(ctx .. "/Containerfile", ALL)
  write(ctx .. "/run.sh", "#!/bin/sh\necho run\n")
  write(ctx .. "/data/d1", "d1\n")
  write(ctx .. "/data/sub/d2", "d2\n")
  write(ctx .. "/a.txt", "a\n")
  write(ctx .. "/b.txt", "b\n")
  write(ctx .. "/notes.md", "ignored\n")
  write(ctx .. "/keep.md", "kept by an exception\n")
  write(ctx .. "/deep/x/y.tmp", "ignored by **\n")
  write(ctx .. "/deep/x/z", "z\n")
  write(ctx .. "/.dockerignore", "# docker's rules\n*.md\n!keep.md\n**/*.tmp\nsecret\n")
  write(ctx .. "/secret/key", "never copied\n")
  sh_ok("mkdir -p " .. q(tmp .. "/t") .. " && echo packed > " .. q(tmp .. "/t/packed") ..
    " && tar -czf " .. q(ctx .. "/files.tar") .. " -C " .. q(tmp .. "/t") .. " packed")
end)

teardown(function() U.cleanup(tmp) end)

describe("build", function()
  it("parses as docker: escape directive, continuations, comments, words, ARG scoping", function()
    local parse = require "ctr.build.parse"
    local df = parse.parse("# escape=`\nFROM scratch\nRUN echo a `\n# dropped comment\n\n  b\n" ..
      "COPY [\"a b\", \"/c/\"]\nENV X=1\n", "cf")
    assert.equal("`", df.escape)
    assert.equal("echo a   b", df.instructions[2].args)
    assert.equal(3, df.instructions[2].line)
    assert.same({ "a b", "/c/" }, df.instructions[3].json)
    local v = { A = "1", E = "" }
    assert.same({ "1", "x y", "$A", "d", "1", "", "w" },
      parse.words([[$A "x y" '$A' ${N:-d} ${A:+1} ${E:+z} ${E:-w}]], v, "\\", true))
    assert.same({ { "a", "1" }, { "b", "two words" } }, parse.pairs_of([[a=$A b="two words"]], v, "\\", "ENV"))
    assert.same({ { "k", "v w" } }, parse.pairs_of("k v w", v, "\\", "ENV"))
    local bctx = require "ctr.build.context"
    local pats = bctx.ignore_patterns("*.md\n!keep.md\n**/*.tmp\nbuild/\n")
    assert.is_true(bctx.ignored(pats, "a.md"))
    assert.is_false(bctx.ignored(pats, "keep.md"))
    assert.is_false(bctx.ignored(pats, "d/a.md")) -- *.md: the top level only, as docker
    assert.is_true(bctx.ignored(pats, "x/y/z.tmp"))
    assert.is_true(bctx.ignored(pats, "build/sub/f")) -- under an excluded directory
    assert.is_nil((bctx.clean("a/../../b")))
    assert.equal("b", bctx.clean("a/../b"))
  end)

  it("ENTRYPOINT resets an inherited CMD; global ARGs reach FROM only", function()
    write(tmp .. "/ep.cf", "ARG TAG=latest\nFROM bbbase:$TAG AS one\nCMD [\"a\"]\n" ..
      "FROM one\nCOPY --from=0 /bin/busybox /bb\nENV T=${TAG:-none}\nENTRYPOINT [\"echo\"]\n")
    ok("build", "-f", tmp .. "/ep.cf", "-t", "ep:1", ctx)
    local c = config_of("ep:1")
    assert.is_nil(c.Cmd) -- stage one's CMD ["a"], reset
    assert.same({ "echo" }, c.Entrypoint)
    assert.equal("T=none", c.Env[2])
  end)

  it("builds every instruction; the config is what docker documents for the file", function()
    local out = ok("build", "-t", "all:1", "--build-arg", "MSG=bye", ctx)
    assert.matches("STEP 1/27: FROM bbbase AS builder", out, 1, true)
    assert.matches("COMMIT all:1", out, 1, true)
    local c = config_of("all:1")
    assert.same({ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=1", "B=two words", "C=1-x" },
      c.Env)
    assert.same({ "echo $A $B $C" }, c.Cmd)
    assert.same({ "/bin/sh", "-c" }, c.Entrypoint)
    assert.equal("/app/sub", c.WorkingDir)
    assert.equal("1000:1000", c.User)
    assert.same({ ["8080/tcp"] = {}, ["53/udp"] = {} }, c.ExposedPorts)
    assert.same({ ["org.example.k"] = "v 1", other = "2" }, c.Labels)
    assert.same({ ["/data"] = {} }, c.Volumes)
    assert.equal("SIGINT", c.StopSignal)
    assert.same({ "CMD-SHELL", "true" }, c.Healthcheck.Test) -- the shell form
    assert.equal(5000000000, c.Healthcheck.Interval)
    assert.equal(2, c.Healthcheck.Retries)
    assert.equal("1 two words 1-x\n", ok("run", "--rm", "--network", "none", "all:1"))
    local files = ok("run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "", "all:1", "sh", "-c",
      "cat /app/built.txt /app/sub/exec.txt /app/sub/msg.txt /app/unpacked/packed /app/txt/a.txt; " ..
      "ls -ln /app/data | grep d1; ls -ln /app/owned.txt; ls -l /app/run.sh; ls /app/txt")
    -- ARG GREETING not redeclared in builder: unset there; redeclared in the last stage: the global default
    assert.matches("^bye/unset\n1\nhello\npacked\na\n", files)
    assert.matches("1000%s+1000.*d1", files)
    assert.matches("1000%s+1000.*owned.txt", files) -- app:app from the image's /etc/passwd and /etc/group
    assert.matches("%-rwxr%-xr%-x.*run.sh", files)
    assert.matches("a.txt\nb.txt\n$", files)
  end)

  it("reuses the cache, then misses after a context change", function()
    ok("build", "-t", "c:1", "--build-arg", "MSG=bye", ctx)
    local out = ok("build", "-t", "c:1", "--build-arg", "MSG=bye", ctx)
    local hits = select(2, out:gsub("%-%-> Using cache", ""))
    assert.equal(11, hits) -- 10 layer steps and WORKDIR sub (WORKDIR /app exists: no layer)
    assert.equal(config_of("all:1").Env[1], config_of("c:1").Env[1])
    assert.equal(json.decode(ok("image", "inspect", "all:1"))[1].id, json.decode(ok("image", "inspect", "c:1"))[1].id)
    write(ctx .. "/b.txt", "b changed\n")
    out = ok("build", "-t", "c:2", "--build-arg", "MSG=bye", ctx)
    assert.equal(7, select(2, out:gsub("%-%-> Using cache", ""))) -- builder's 2, then the steps before COPY *.txt
    assert.equal("b changed\n", ok("run", "--rm", "--network", "none", "--entrypoint", "", "c:2", "cat",
      "/app/txt/b.txt"))
    out = ok("build", "--no-cache", "-q", "-t", "c:3", "--build-arg", "MSG=bye", ctx)
    assert.matches("^sha256:%x+\n$", out)
  end)

  it("honours .dockerignore (exceptions and **) and --target", function()
    write(tmp .. "/ign.cf", "FROM bbbase AS one\nCOPY . /c/\nFROM one AS two\nRUN false\n")
    ok("build", "-f", tmp .. "/ign.cf", "--target", "one", "-t", "ign:1", ctx)
    local ls = ok("run", "--rm", "--network", "none", "ign:1", "sh", "-c", "cd /c && find . | sort")
    assert.matches("./keep.md\n", ls, 1, true)
    assert.matches("./deep/x/z\n", ls, 1, true)
    assert.not_matches("notes.md", ls, 1, true)
    assert.not_matches("y.tmp", ls, 1, true)
    assert.not_matches("secret", ls, 1, true)
    -- FILE.dockerignore replaces the context's
    write(tmp .. "/ign2.cf", "FROM bbbase\nCOPY . /c/\n")
    write(tmp .. "/ign2.cf.dockerignore", "a.txt\n")
    ok("build", "-f", tmp .. "/ign2.cf", "-t", "ign:2", ctx)
    ls = ok("run", "--rm", "--network", "none", "ign:2", "sh", "-c", "cd /c && find . | sort")
    assert.matches("./notes.md\n", ls, 1, true)
    assert.not_matches("a.txt", ls, 1, true)
  end)

  it("a failing RUN shows its output, exits non-zero, leaves no container, mount or layer", function()
    local before_img = ok("images", "-a", "-q")
    local before_layers = #core.readdir(root .. "/layers")
    write(tmp .. "/fail.cf", "FROM bbbase\nRUN echo made > /f\nRUN echo failing-output && false\nCMD x\n")
    local out, err, code = ctr("build", "-f", tmp .. "/fail.cf", "-t", "fail:1", ctx)
    assert.equal(1, code)
    assert.matches("failing-output", out .. err, 1, true)
    assert.matches("step 3/4", err, 1, true)
    assert.equal("", ok("ps", "-a", "-q"))
    assert.same({}, U.mounts_under(root))
    assert.same({}, core.readdir(root .. "/tmp") or {})
    -- the RUN before it made a (cached) layer; the failed one made none
    assert.equal(before_layers + 1, #core.readdir(root .. "/layers"))
    assert.equal(select(2, before_img:gsub("\n", "")) + 1, select(2, ok("images", "-a", "-q"):gsub("\n", "")))
    assert.not_matches("fail", ok("images"))
  end)

  it("refuses COPY sources outside the context, through .. or a symlink; bad instructions name the line", function()
    local c2 = tmp .. "/ctx2"
    write(c2 .. "/f", "f\n")
    write(tmp .. "/outside", "secret\n")
    sh_ok("ln -s /etc/passwd " .. q(c2 .. "/abs") .. " && ln -s ../outside " .. q(c2 .. "/rel") ..
      " && ln -s .. " .. q(c2 .. "/up"))
    for _, src in ipairs({ "../outside", "abs", "rel", "up/outside", "f/../../outside" }) do
      write(c2 .. "/cf", "FROM bbbase\nCOPY " .. src .. " /x\n")
      local _, err, code = ctr("build", "-f", c2 .. "/cf", "-t", "esc:1", c2)
      assert.equal(125, code, src)
      assert.matches("outside the build context", err, 1, true)
    end
    for text, msg in pairs({ ["FROM bbbase\nONBUILD RUN x\n"] = "cf:2: unsupported instruction ONBUILD",
      ["FROM bbbase\nRUN <<EOF\nx\nEOF\n"] = "cf:2: RUN: heredocs",
      ["FROM bbbase\nCOPY --link a /b\n"] = "cf:2: COPY: the flag --link is not supported",
      ["FROM bbbase\n\nRUN true \\\n  && true\nEXPOSE\n"] = "cf:5: EXPOSE requires at least one argument" }) do
      write(c2 .. "/cf", text)
      local _, err, code = ctr("build", "-f", c2 .. "/cf", c2)
      assert.equal(125, code)
      assert.matches(msg, err, 1, true)
    end
    assert.not_matches("esc", ok("images"))
  end)

  it("runs a Lua build (-f build.lua) with loops and inline files", function()
    write(tmp .. "/lb/build.lua", [[
local build = require "ctr.build"
local steps = {}
for i = 1, 3 do steps[#steps + 1] = build.run("echo " .. i .. " >> /n") end
steps[#steps + 1] = build.write("/etc/motd", "hi from lua\n")
steps[#steps + 1] = build.copy("a.txt", "/a.txt")
steps[#steps + 1] = build.env { X = "y z" }
steps[#steps + 1] = "EXPOSE 9000"
steps[#steps + 1] = build.cmd { "cat", "/n", "/etc/motd", "/a.txt" }
build { from = "bbbase", steps = steps }
]])
    local out = ok("build", "-f", tmp .. "/lb/build.lua", "-t", "lua:1", ctx)
    assert.matches("STEP 5/9: WRITE /etc/motd", out, 1, true)
    assert.equal("1\n2\n3\nhi from lua\na\n", ok("run", "--rm", "--network", "none", "lua:1"))
    local c = config_of("lua:1")
    assert.same({ ["9000/tcp"] = {} }, c.ExposedPorts)
    assert.equal("X=y z", c.Env[2])
  end)

  it("ADD downloads a URL only when the build has network; quiet failures still show the output", function()
    local srv = tmp .. "/www"
    write(srv .. "/dl.txt", "downloaded\n")
    local pid = sh_ok("cd " .. q(srv) .. " && (python3 -m http.server 18089 --bind 127.0.0.1 >/dev/null 2>&1 & echo $!)")
      :match("%d+")
    local ok_up = false
    for _ = 1, 50 do
      local r = require("ctr.http").perform({ { url = "http://127.0.0.1:18089/dl.txt", timeout = 2 } })
      if r and r[1].status == 200 then
        ok_up = true; break
      end
      core.sleep(0.1)
    end
    write(tmp .. "/url.cf", "FROM bbbase\nADD http://127.0.0.1:18089/dl.txt /dl/\n")
    local out, err, code = ctr("build", "-f", tmp .. "/url.cf", "-t", "url:1", "--network", "none", ctx)
    local _, err2, code2 = ctr("build", "-q", "-f", tmp .. "/fail.cf", ctx)
    local out3, err3, code3
    if ok_up then out3, err3, code3 = ctr("build", "-f", tmp .. "/url.cf", "-t", "url:1", ctx) end
    core.kill(math.tointeger(tonumber(pid)), "TERM")
    assert.equal(125, code, out)
    assert.matches("the build has no network", err, 1, true)
    assert.equal(1, code2)
    assert.matches("failing-output", err2, 1, true)
    assert.is_true(ok_up, "the loopback http server did not start")
    assert.equal(0, code3, out3 .. err3)
    assert.equal("downloaded\n", ok("run", "--rm", "--network", "none", "url:1", "cat", "/dl/dl.txt"))
  end)

  it("runs builds in parallel from Lua; podman loads a saved build", function()
    write(tmp .. "/par/build.lua", [[
local build = require "ctr.build"
local imgs = build.parallel {
  { from = "bbbase", tag = "par:1", steps = { build.run "echo one > /one", build.cmd { "cat", "/one" } } },
  { from = "bbbase", tag = "par:2", steps = { build.run "echo two > /two", build.cmd { "cat", "/two" } } },
}
assert(#imgs == 2 and imgs[1].id ~= imgs[2].id)
]])
    ok("build", "-q", "-f", tmp .. "/par/build.lua", ctx)
    assert.equal("one\n", ok("run", "--rm", "--network", "none", "par:1"))
    assert.equal("two\n", ok("run", "--rm", "--network", "none", "par:2"))
    if select(3, U.sh("command -v podman")) ~= 0 then print("SKIP: podman is not installed"); return end
    ok("save", "-o", tmp .. "/par.tar", "par:1")
    local pod = "podman --root " .. q(tmp .. "/pstorage") .. " --runroot " .. q(tmp .. "/prunroot") ..
      " --storage-driver vfs --cgroup-manager cgroupfs --events-backend file"
    assert.matches("Loaded image", sh_ok(pod .. " load -i " .. q(tmp .. "/par.tar") .. " 2>&1"))
    local pc = json.decode(sh_ok(pod .. " image inspect par:1"))[1].Config
    assert.same({ "cat", "/one" }, pc.Cmd)
    sh_ok(pod .. " rmi -af >/dev/null 2>&1")
  end)

  it("pushes a build to a registry (loopback) and pulls it back", function()
    if select(3, U.sh("command -v docker-registry")) ~= 0 then print("SKIP: docker-registry is not installed"); return end
    local cfg, port = tmp .. "/reg.yml", math.random(20000, 60000)
    assert(core.write_file_atomic(cfg, table.concat({ "version: 0.1", "log:", "  level: error", "storage:",
      "  filesystem:", "    rootdirectory: " .. tmp .. "/reg", "http:", "  addr: 127.0.0.1:" .. port, "" }, "\n")))
    local pid = math.tointeger(tonumber(sh_ok("docker-registry serve " .. q(cfg) .. " >/dev/null 2>&1 & echo $!")
      :match("%d+")))
    local up = U.wait_for(function()
      local r = require("ctr.http").perform({ { url = "http://127.0.0.1:" .. port .. "/v2/", timeout = 2 } })
      return r and r[1].status == 200
    end, 10)
    local ref = "127.0.0.1:" .. port .. "/built/lua:1"
    local res = table.pack(pcall(function()
      assert.is_true(up, "the registry did not start")
      ok("tag", "lua:1", ref)
      ok("push", ref)
      ok("rmi", ref, "lua:1")
      ok("pull", ref)
      return ok("run", "--rm", "--network", "none", ref)
    end))
    core.kill(pid, "TERM")
    core.waitpid(pid)
    assert(res[1], res[2])
    assert.equal("1\n2\n3\nhi from lua\na\n", res[2])
  end)

  it("builds the same files and config as buildah bud", function()
    local bcmd = "CONTAINERS_CONF=" .. q(tmp .. "/containers.conf") .. " buildah --root " .. q(tmp .. "/bstorage") ..
      " --runroot " .. q(tmp .. "/brunroot") .. " --storage-driver vfs"
    if not U.sh("command -v buildah") or select(3, U.sh("command -v buildah")) ~= 0 then
      print("SKIP: buildah is not installed (tools/install-deps.sh --test installs it)")
      return
    end
    write(tmp .. "/containers.conf", '[containers]\ndefault_ulimits = ["nofile=1024:1024"]\n[engine]\n' ..
      'cgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
    sh_ok(bcmd .. " from --name w scratch >/dev/null && " .. bcmd .. " add w " .. q(tmp .. "/bb.tar") .. " / >/dev/null && "
      .. bcmd .. " commit -q w localhost/bbbase:latest >/dev/null && " .. bcmd .. " rm w >/dev/null")
    -- buildah 1.28 knows no RUN --network: the same file without it
    write(tmp .. "/bah.cf", (ALL:gsub("RUN %-%-network=none", "RUN")))
    sh_ok("cd " .. q(ctx) .. " && " .. bcmd .. " bud --isolation chroot -f " .. q(tmp .. "/bah.cf") ..
      " --build-arg MSG=bye -t built:1 . >/dev/null 2>&1")
    local bc = json.decode(sh_ok(bcmd .. " inspect --type image built:1")).OCIv1.config
    ok("build", "-q", "-t", "cmp:1", "--build-arg", "MSG=bye", ctx) -- the context as buildah saw it
    local c = config_of("cmp:1")
    bc.Labels["io.buildah.version"] = nil -- buildah's own
    for _, k in ipairs({ "Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Labels", "Volumes",
      "StopSignal" }) do
      assert.same(bc[k], c[k], k)
    end
    -- the files: buildah's mounted image against our export
    local mnt = sh_ok(bcmd .. " from --name cmp built:1 >/dev/null && " .. bcmd .. " mount cmp"):gsub("%s+$", "")
    ok("run", "--name", "cmp", "--network", "none", "cmp:1", "true")
    ok("export", "-o", tmp .. "/ours.tar", "cmp")
    sh_ok("mkdir -p " .. q(tmp .. "/ours") .. " && tar -xpf " .. q(tmp .. "/ours.tar") .. " -C " .. q(tmp .. "/ours"))
    local list = "find . -mindepth 1 -path ./proc -prune -o -path ./sys -prune -o -path ./dev -prune -o -path ./etc/hosts -prune " ..
      "-o -path ./etc/resolv.conf -prune -o -path ./etc/hostname -prune -o -path ./run -prune -o -path ./tmp -prune " ..
      "-o -path ./data -prune -o -printf '%p %y %m %U %G %s\\n' | sort"
    -- and the modification times of what COPY and ADD took from the context (kept, as docker keeps them)
    local times = "find ./app/data ./app/txt ./app/unpacked ./app/run.sh -printf '%p %y %T@\\n' | sort"
    list = list .. " && " .. times
    local theirs = sh_ok("cd " .. q(mnt) .. " && " .. list)
    local ours = sh_ok("cd " .. q(tmp .. "/ours") .. " && " .. list)
    sh_ok(bcmd .. " umount cmp >/dev/null && " .. bcmd .. " rm cmp >/dev/null && " .. bcmd .. " rmi -af >/dev/null")
    ok("rm", "cmp")
    assert.equal(theirs, ours)
  end)
end)
