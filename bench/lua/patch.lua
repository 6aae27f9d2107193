-- PATCH a log file's state to "started": the first request moves it from "requested",
-- every later one is a same-value retry, so every answer should be 204. An argument (wrk's
-- `-- N`) repeats the operation N times in one document (bench/scenarios.py's patch_body(N),
-- the same bytes): the long PATCH rows.
wrk.method = "PATCH"
wrk.body = '[{"op":"replace","path":"/state","value":"started"}]'
wrk.headers["Content-Type"] = "application/json-patch+json"
wrk.headers["X-Auth-Token"] = "t"

function init(args)
  local count = tonumber(args[1] or "1")
  local operations = {}
  for i = 1, count do
    operations[i] = '{"op":"replace","path":"/state","value":"started"}'
  end
  wrk.body = "[" .. table.concat(operations, ",") .. "]"
end
