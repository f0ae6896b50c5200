"""Benchmark of the platform pollers: `python -m bench.pollers`."""
