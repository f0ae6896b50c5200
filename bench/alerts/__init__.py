"""Benchmarks for negative-spike alerts (`python -m bench.alerts`)."""
