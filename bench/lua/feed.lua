-- GET an events feed from its latest event on: what a polling agent sends all day when nothing
-- is new (the URL's `marker` is the feed's latest event id, so the answer is an empty page).
wrk.method = "GET"
wrk.headers["X-Auth-Token"] = "t"
