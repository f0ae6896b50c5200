"""Small synthetic count streams with known answers (made here, never read from shared data)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

START = datetime(2026, 3, 2, tzinfo=UTC)
BUCKET = timedelta(minutes=5)
PER_DAY = 288


def stamps(n: int, start: datetime = START) -> list[datetime]:
    return [start + BUCKET * i for i in range(n)]


def daily_shape(n: int, strength: float = 0.8) -> np.ndarray:
    hours = (np.arange(n) % PER_DAY) / 12.0
    shape = 0.15 + np.exp(-0.5 * ((hours - 21.0) / 2.5) ** 2) + 0.6 * np.exp(-0.5 * ((hours - 12.5) / 2.0) ** 2)
    shape = shape / shape.mean()
    return 1.0 + strength * (shape - 1.0)


def negbin(mu: np.ndarray, phi: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if phi <= 0:
        return rng.poisson(mu).astype(float)
    return rng.poisson(rng.gamma(1.0 / phi, mu * phi)).astype(float)


def burst(n: int, at: int, size: float, length: int) -> np.ndarray:
    """A multiplier: jump to ``size`` at ``at`` decaying over ``length`` buckets."""
    mult = np.ones(n)
    k = np.arange(min(length, n - at))
    mult[at:at + len(k)] = 1.0 + (size - 1.0) * np.exp(-k / max(length / 3.0, 1.0))
    return mult


def ramp(n: int, at: int, size: float, length: int) -> np.ndarray:
    mult = np.ones(n)
    k = np.arange(min(length, n - at))
    mult[at:at + len(k)] = 1.0 + (size - 1.0) * k / max(length - 1, 1)
    mult[at + len(k):] = size
    return mult


def growth(n: int, factor: float) -> np.ndarray:
    return np.exp(math.log(factor) * np.arange(n) / n)
