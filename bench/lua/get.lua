-- GET a log file's details or a page of the list (the URL says which).
wrk.method = "GET"
wrk.headers["X-Auth-Token"] = "t"
