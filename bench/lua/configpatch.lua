-- PATCH a configuration's name to one it has never had: "bench <wrk thread>-<count>", so every
-- request changes it (a write and its configuration_changed event) and every answer is 204.
-- The body differs per request, so request() formats each one.
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json-patch+json"
wrk.headers["X-Auth-Token"] = "t"

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

local count = 0

function request()
  count = count + 1
  local name = "bench " .. tostring(thread_number) .. "-" .. tostring(count)
  return wrk.format(nil, nil, nil, '[{"op":"replace","path":"/name","value":"' .. name .. '"}]')
end
