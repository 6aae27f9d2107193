-- POST: request a new log file (202); aim it at an agent no list scenario reads.
wrk.method = "POST"
wrk.headers["X-Auth-Token"] = "t"
