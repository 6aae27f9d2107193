-- PATCH a log file's state to "started": the first request moves it from "requested",
-- every later one is a same-value retry, so every answer should be 204.
wrk.method = "PATCH"
wrk.body = '[{"op":"replace","path":"/state","value":"started"}]'
wrk.headers["Content-Type"] = "application/json-patch+json"
wrk.headers["X-Auth-Token"] = "t"
