--- ctr.container.restart: docker's restart policies (--restart) for
-- detached containers. Their supervisor (ctr.container.lifecycle) restarts
-- the process when the policy says so, with docker's back-off: 100 ms
-- before the first restart, doubled before each next one up to one minute,
-- back to 100 ms after a run of 10 s or more. Between two runs the
-- container's status is "restarting". A container the user stopped (stop,
-- kill, rm -f) is not restarted. There is no daemon: the policy lives as
-- long as the container's supervisor (README "Restart policies").
local core = require "ctr.core"
local errors = require "ctr.errors"

local M = {}

M.BACKOFF_MIN = 0.1 -- seconds before the first restart
M.BACKOFF_MAX = 60  -- at most this long
M.RESET_AFTER = 10  -- a run this long starts the back-off over

local NAMES = { no = true, always = true, ["unless-stopped"] = true, ["on-failure"] = true }

--- Parse a --restart value: "no", "always", "unless-stopped" or
-- "on-failure[:N]" (N: at most N restarts; 0 or none: no limit). Returns
-- docker's HostConfig.RestartPolicy {Name =, MaximumRetryCount =} ("no"
-- for nil). Raises invalid for anything else.
function M.parse(s)
  if s == nil or s == "" then return { Name = "no", MaximumRetryCount = 0 } end
  local name, count = tostring(s):match("^([%a-]+):?(.*)$")
  if not name or not NAMES[name] then errors.throw("invalid", "invalid restart policy %s", errors.quote(tostring(s))) end
  if count == "" then return { Name = name, MaximumRetryCount = 0 } end
  if name ~= "on-failure" then
    errors.throw("invalid", "invalid restart policy: maximum retry count can only be used with 'on-failure'")
  end
  local n = count:match("^%d+$") and #count <= 9 and math.tointeger(tonumber(count))
  if not n then errors.throw("invalid", "invalid restart policy: maximum retry count must be a number: %s", errors.quote(count)) end
  return { Name = name, MaximumRetryCount = n }
end

--- Whether the exit of a run (result: the supervisor's, exit_code) of a
-- container with state st is followed by a restart under its policy.
function M.wanted(st, result)
  local p = st.restart
  if not p or p.Name == "no" or st.manual_stop or not result then return false end
  if p.Name == "on-failure" then
    if result.exit_code == 0 then return false end
    return p.MaximumRetryCount == 0 or (st.restart_count or 0) < p.MaximumRetryCount
  end
  return true
end

--- The delay before the next restart, given the previous one (nil: none
-- yet) and how long the last run lasted (seconds).
function M.next_delay(prev, ran)
  if not prev or ran >= M.RESET_AFTER then return M.BACKOFF_MIN end
  return math.min(prev * 2, M.BACKOFF_MAX)
end

--- Wait delay seconds while container c is restarting (its state is read
-- every 100 ms). Returns false as soon as it is not restarting any more
-- (stopped, killed or removed by the user), true when the time is up.
function M.wait(c, delay)
  local deadline = core.clock("monotonic") + delay
  while true do
    if not core.exists(c.dir .. "/state.json") then return false end
    c:refresh()
    if c.state.status ~= "restarting" then return false end
    local left = deadline - core.clock("monotonic")
    if left <= 0 then return true end
    core.sleep(math.min(0.1, left))
  end
end

--- Record (holding c's lock, state fresh) that the user stopped c: it is
-- not restarted any more; a container waiting to be restarted is exited.
function M.mark_stopped(c)
  local st = c.state
  if not st.restart or st.restart.Name == "no" then return end
  st.manual_stop = true
  if st.status == "restarting" then st.status, st.supervisor = "exited", nil end
  c:_save()
end

return M
