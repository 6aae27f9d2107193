"""Benchmark of the stub against a bare Flask app (issue 4); run `python bench/run.py`."""
