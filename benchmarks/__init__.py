"""Benchmarks: scripts that measure Chronicle on realistic loads (run with python -m)."""
