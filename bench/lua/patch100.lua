-- PATCH a log file with one document of 100 operations, each a replace of "/state" by
-- "started" (bench/scenarios.py's patch_body(100), the same bytes): after the first, every
-- request is a same-value retry, so every answer should be 204.
local operations = {}
for i = 1, 100 do
  operations[i] = '{"op":"replace","path":"/state","value":"started"}'
end
wrk.method = "PATCH"
wrk.body = "[" .. table.concat(operations, ",") .. "]"
wrk.headers["Content-Type"] = "application/json-patch+json"
wrk.headers["X-Auth-Token"] = "t"
