"""Print the alert figures: backtest speed, per-tick CPU for many streams, and alert latency.

    python -m bench.alerts [--streams 10000] [--rows 16000]
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from bot.alerts.backtest import read_series, run_backtest, write_backtest
from bot.alerts.detector import SpikeDetector

START = datetime(2026, 3, 2, tzinfo=UTC)


def synthetic_counts(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hours = (np.arange(n) % 288) / 12.0
    mu = 30.0 * (0.4 + np.exp(-0.5 * ((hours - 21.0) / 3.0) ** 2))
    mu[n // 2:n // 2 + 36] *= 8.0
    return rng.poisson(rng.gamma(10.0, mu / 10.0))


def bench_backtest(rows: int) -> None:
    values = synthetic_counts(rows)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "series.csv", Path(tmp) / "out.csv"
        with open(src, "w", newline="") as handle:
            w = csv.writer(handle)
            w.writerow(["timestamp", "value"])
            for i, v in enumerate(values):
                w.writerow([(START + timedelta(minutes=5 * i)).isoformat(), int(v)])
        wall, cpu = time.perf_counter(), time.process_time()
        alerts = write_backtest(run_backtest(read_series(src)), out)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"backtest: {rows} rows in {wall:.3f} s wall / {cpu:.3f} s CPU ({alerts} alerts) [target well under 10 s]")


def bench_tick(streams: int, warm_ticks: int = 300) -> None:
    rng = np.random.default_rng(2)
    levels = rng.lognormal(1.0, 1.5, size=streams)
    detectors = [SpikeDetector() for _ in range(streams)]
    # warm every stream (history, daily profile) so the timed tick does the steady-state work
    for t in range(warm_ticks):
        ts = START + timedelta(minutes=5 * t)
        counts = rng.poisson(levels)
        for det, c in zip(detectors, counts, strict=True):
            det.observe(ts, float(c))
    ticks = 5
    cpu_total = 0.0
    for t in range(warm_ticks, warm_ticks + ticks):
        ts = START + timedelta(minutes=5 * t)
        counts = rng.poisson(levels).astype(float)
        cpu = time.process_time()
        for det, c in zip(detectors, counts, strict=True):
            det.observe(ts, c)
        cpu_total += time.process_time() - cpu
    state_bytes = len(json.dumps(detectors[0].to_state()))
    cpu_ser = time.process_time()
    blobs = [json.dumps(d.to_state()) for d in detectors]
    cpu_ser = time.process_time() - cpu_ser
    print(f"tick: {streams} streams evaluated in {cpu_total / ticks:.3f} s CPU per tick [target < 1 s]; "
          f"state {state_bytes} bytes/stream as JSON, serialising all {len(blobs)} takes {cpu_ser:.3f} s CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", type=int, default=10_000)
    ap.add_argument("--rows", type=int, default=16_000)
    a = ap.parse_args()
    bench_backtest(a.rows)
    bench_tick(a.streams)
    from bench.alerts.service_tick import bench_service_tick

    bench_service_tick(a.streams)
    # the same tick once the accounts have years of old videos behind them (one stream row each)
    bench_service_tick(a.streams, dormant=5 * a.streams)
    try:
        from bench.alerts.latency import bench_latency
    except ImportError:  # the service part (phase 2) is not there yet
        print("latency: not measured (alert service not present)")
    else:
        bench_latency()


if __name__ == "__main__":
    main()
