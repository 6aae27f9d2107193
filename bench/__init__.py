"""Benchmark of the stub against a bare Flask app; run `python bench/run.py`."""
