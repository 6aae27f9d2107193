"""The dashboard's pure parts (the timeline's buckets, the state machine's layout) and, beside
them, its templates and static files, shipped as package data; its views are api/dashboard.py."""
