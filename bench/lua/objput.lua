-- PUT a 1 MiB object, the same name every time (each upload replaces it: every answer 201).
-- The body is built once here and sent as is by every request: OBJECT_BODY in bench/scenarios.py
-- (1 MiB of "0123456789abcdef"). wrk would set Content-Length itself; it is said here too.
wrk.method = "PUT"
wrk.body = string.rep("0123456789abcdef", 65536)
wrk.headers["Content-Length"] = tostring(#wrk.body)
wrk.headers["X-Auth-Token"] = "t"
