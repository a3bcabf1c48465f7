--- ctr.container.runflags: docker run's flags of the runtime's own
-- settings (--restart, --init, --expose/-P, --sysctl, --stop-signal,
-- --stop-timeout, --shm-size, --oom-kill-disable, --memory-reservation,
-- --cpu-shares, --cgroupns, --ipc, --pid, --uts, --network container:NAME)
-- checked into the plan of ctr.container.spec, then applied to the OCI
-- config it builds.
local errors = require "ctr.errors"

local M = {}

--- Check the options of o that this module owns and record what they mean
-- in plan (ctr.container.spec's): restart, stop_timeout, ... Raises
-- invalid on bad input (nothing is written yet).
function M.plan(o, plan)
  if o.ipc or o.pid or o.uts or tostring(o.network):match("^container:") then -- loaded only then
    require("ctr.container.nsshare").plan(o, plan)
  else
    plan.host_ns, plan.join, plan.ipc_mode = {}, {}, "private"
  end
  if plan.join.network then plan.net = "container:" .. plan.join.network end
  plan.restart = o.restart and require("ctr.container.restart").parse(o.restart) or { Name = "no", MaximumRetryCount = 0 }
  if o.rm and plan.restart.Name ~= "no" then errors.throw("invalid", "Conflicting options: --restart and --rm") end
  M.expose(o, plan)
  plan.sysctl = M.sysctls(o.sysctl, o, plan.net)
  if o.stop_signal then
    require("ctr.container.signal").signum(o.stop_signal) -- raises for an unknown one
    plan.icfg.StopSignal = o.stop_signal -- the state's stop_signal (ctr.container.create)
  end
  if o.stop_timeout and o.stop_timeout < -1 then errors.throw("invalid", "invalid --stop-timeout %d: seconds, -1 for no limit", o.stop_timeout) end
  plan.stop_timeout = o.stop_timeout
  if o.shm_size then
    plan.shm_size = require("ctr.cgroup").parse_memory(o.shm_size)
    if plan.shm_size <= 0 then errors.throw("invalid", "invalid --shm-size: a size above 0") end
  end
  if o.cgroupns and o.cgroupns ~= "host" and o.cgroupns ~= "private" then
    errors.throw("invalid", "invalid --cgroupns %s: host or private", errors.quote(o.cgroupns))
  end
  plan.cgroup_extra = M.cgroup_extra(o, plan.resources)
  plan.modes = { pid = plan.join.pid and "container:" .. plan.join.pid or o.pid, uts = o.uts, cgroupns = o.cgroupns,
    publish_all = o.publish_all } -- for inspect (M.host_config)
end

-- runc's list: the IPC sysctls of an IPC namespace, and prefixes
local IPC_SYSCTLS = { ["kernel.msgmax"] = true, ["kernel.msgmnb"] = true, ["kernel.msgmni"] = true, ["kernel.sem"] = true,
  ["kernel.shmall"] = true, ["kernel.shmmax"] = true, ["kernel.shmmni"] = true, ["kernel.shm_rmid_forced"] = true }

-- Whether sysctl key is namespaced for this container: the IPC ones and
-- fs.mqueue.* in its own IPC namespace, net.* in its own network namespace.
local function sysctl_allowed(key, o, net)
  if IPC_SYSCTLS[key] or key:match("^fs%.mqueue%.") then
    return o.ipc ~= "host" and not (o.ipc or ""):match("^container:"), "with --ipc " .. tostring(o.ipc)
  end
  if key:match("^net%.") then
    return net ~= "host" and not net:match("^container:"), "with --network " .. net
  end
  return false, "(not a namespaced sysctl: only kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*)"
end

--- The OCI linux.sysctl of docker --sysctl values ("KEY=VALUE"), with net
-- the network mode: only the sysctls of the container's own namespaces
-- (docker's and runc's list). Raises invalid for any other key or a bad
-- entry. Nil when there is none.
function M.sysctls(list, o, net)
  if not list or #list == 0 then return nil end
  local t = {}
  for _, kv in ipairs(list) do
    local k, v = tostring(kv):match("^([%w_.%-]+)=(.*)$")
    if not k or k:find("..", 1, true) or v:find("[%z\n]") then
      errors.throw("invalid", "invalid --sysctl %s: use KEY=VALUE", errors.quote(tostring(kv)))
    end
    local ok, why = sysctl_allowed(k, o, net)
    if not ok then errors.throw("invalid", "sysctl %s is not allowed %s", errors.quote(k), why) end
    t[k] = v
  end
  return require("ctr.json").object(t)
end

--- The cgroup settings outside ctr.cgroup's limits: cpu_shares (2 to
-- 262144), memory_reservation (a size, at most the memory limit),
-- oom_kill_disable (v1 only: docker ignores it on v2, with a warning).
-- Returns the table recorded in the state (nil: none).
function M.cgroup_extra(o, resources)
  local x = {}
  if o.cpu_shares then
    if o.cpu_shares < 2 or o.cpu_shares > 262144 then
      errors.throw("invalid", "invalid --cpu-shares %d: from 2 to 262144", o.cpu_shares)
    end
    x.cpu_shares = o.cpu_shares
  end
  if o.memory_reservation then
    x.memory_reservation = require("ctr.cgroup").parse_memory(o.memory_reservation)
    if resources.memory and x.memory_reservation > resources.memory then
      errors.throw("invalid", "Minimum memory limit can not be less than memory reservation limit, see usage")
    end
  end
  if o.oom_kill_disable then
    if require("ctr.cgroup").layout() == "v2" then
      io.stderr:write("WARNING: cgroup v2 has no OOM killer switch: --oom-kill-disable discarded\n")
    else
      x.oom_kill_disable = true
    end
  end
  return next(x) and x or nil
end

-- Write value to file of the first of the cgroup's directories that has it.
local function cg_write(g, files, value)
  local core = require "ctr.core"
  for _, d in ipairs(g:dirs()) do
    for _, f in ipairs(files) do
      if core.exists(d .. "/" .. f) then
        local fd, err = core.open(d .. "/" .. f, "wronly,nofollow,cloexec")
        if not fd then errors.throw("system", "cannot open %s/%s: %s", d, f, err) end
        local ok, werr = core.write(fd, value)
        fd:close()
        if not ok then errors.throw("system", "cannot write %s to %s/%s: %s", value, d, f, werr) end
        return
      end
    end
  end
  errors.throw("system", "cannot set %s: no such cgroup file", files[1])
end

--- Apply the state's cgroup_extra (see M.cgroup_extra) to cgroup g, before
-- any process is in it: v1 cpu.shares (v2 cpu.weight, runc's conversion),
-- memory.soft_limit_in_bytes (v2 memory.low), v1 memory.oom_control.
function M.apply_cgroup(g, x)
  if not x then return end
  if x.cpu_shares then
    local v2 = require("ctr.cgroup").layout() == "v2"
    local value = v2 and tostring(1 + ((x.cpu_shares - 2) * 9999) // 262142) or tostring(x.cpu_shares)
    cg_write(g, { v2 and "cpu.weight" or "cpu.shares" }, value)
  end
  if x.memory_reservation then
    cg_write(g, { "memory.soft_limit_in_bytes", "memory.low" }, tostring(x.memory_reservation))
  end
  if x.oom_kill_disable then cg_write(g, { "memory.oom_control" }, "1") end
end

-- "80", "80/udp", "8000-8010/tcp" (docker's --expose): the ports, as keys "80/tcp".
local function expose_keys(spec, out)
  local lo, hi, proto = tostring(spec):match("^(%d+)%-?(%d*)/?(%a*)$")
  proto = (proto or ""):lower()
  if proto == "" then proto = "tcp" end
  lo, hi = tonumber(lo), tonumber(hi ~= "" and hi or lo)
  if not lo or lo < 1 or hi > 65535 or hi < lo or hi - lo > 1024 or (proto ~= "tcp" and proto ~= "udp") then
    errors.throw("invalid", "invalid --expose %s: use PORT[-PORT][/tcp|/udp]", errors.quote(tostring(spec)))
  end
  for p = lo, hi do out[#out + 1] = ("%d/%s"):format(p, proto) end
end

--- --expose and -P (o.expose, o.publish_all): the exposed ports join the
-- image's (plan.icfg.ExposedPorts, a copy); with publish_all each exposed
-- port not published yet gets a free host port at every start (a port
-- {random = true}: ctr.container.launch binds port 0 and records the one
-- the kernel chose), held as -p holds them.
function M.expose(o, plan)
  local keys = {}
  for _, e in ipairs(o.expose or {}) do expose_keys(e, keys) end
  local icfg = {}
  for k, v in pairs(plan.icfg) do icfg[k] = v end
  local exposed = {}
  for k, v in pairs(icfg.ExposedPorts or {}) do exposed[k] = v end
  for _, k in ipairs(keys) do exposed[k] = require("ctr.json").object({}) end
  icfg.ExposedPorts = next(exposed) and exposed or nil
  plan.icfg = icfg
  if not o.publish_all or plan.net == "none" or plan.net == "host" then return end
  local published, list = {}, {}
  for _, p in ipairs(plan.ports) do published[("%d/%s"):format(p.container_port, p.proto)] = true end
  for k in pairs(exposed) do
    local port, proto = k:match("^(%d+)/?(%a*)$")
    if port and not published[k] then list[#list + 1] = { tonumber(port), proto ~= "" and proto or "tcp" } end
  end
  table.sort(list, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
  for _, p in ipairs(list) do
    plan.ports[#plan.ports + 1] = { host_ip = "0.0.0.0", host_port = 0, container_port = math.tointeger(p[1]), proto = p[2], random = true }
  end
end

--- Add to hc (inspect's HostConfig) docker's fields of these flags, from
-- the container's state st: RestartPolicy, Init, PublishAllPorts,
-- IpcMode, PidMode, UTSMode, CgroupnsMode, ShmSize, CpuShares,
-- MemoryReservation, OomKillDisable. Returns hc.
function M.host_config(st, hc)
  local x, m = st.cgroup_extra or {}, st.modes or {}
  hc.RestartPolicy = st.restart or { Name = "no", MaximumRetryCount = 0 }
  hc.Init, hc.PublishAllPorts = st.init or false, m.publish_all or false
  hc.IpcMode, hc.PidMode, hc.UTSMode = st.ipc_mode or "private", m.pid or "", m.uts or ""
  hc.CgroupnsMode, hc.ShmSize = m.cgroupns or "private", st.shm_size or 64 * 1024 * 1024
  hc.CpuShares, hc.MemoryReservation = x.cpu_shares or 0, x.memory_reservation or 0
  hc.OomKillDisable = x.oom_kill_disable or false
  return hc
end

--- Apply the plan's settings to cfg, the OCI config of ctr.oci.build of
-- the container in directory dir. Returns cfg.
function M.apply(cfg, o, plan, dir)
  cfg.linux.sysctl = plan.sysctl
  for _, m in ipairs(cfg.mounts) do
    if m.destination == "/dev/shm" and plan.shm_size then
      for i, opt in ipairs(m.options) do
        if opt:match("^size=") then m.options[i] = ("size=%dk"):format((plan.shm_size + 1023) // 1024) end
      end
    end
  end
  local ns = {}
  for _, n in ipairs(cfg.linux.namespaces) do
    if not (n.type == "cgroup" and o.cgroupns == "host") then ns[#ns + 1] = n end
  end
  cfg.linux.namespaces = ns
  if not (next(plan.join) or next(plan.host_ns) or plan.ipc_mode ~= "private") then return cfg end
  return require("ctr.container.nsshare").apply(cfg, plan, dir)
end

return M
