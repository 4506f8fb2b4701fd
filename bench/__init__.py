"""Benchmarks for Touchpoint Sentinel (run from the repository root, e.g. `python -m bench.engine`)."""
