"""Benchmarks for negative-spike alerts (`python -m bench.alerts`)."""

from __future__ import annotations

from bench.database import bench_database

__all__ = ["bench_database"]
