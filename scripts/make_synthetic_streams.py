"""Generate labelled synthetic count streams (comments/mentions per bucket) for tuning the spike detector.

Streams have daily and weekly cycles, growth, over-dispersion (gamma-Poisson), small unlabelled bursts
(ordinary life: a post goes mildly viral for 20 minutes) and labelled anomalies: sudden bursts, slow
ramps, tiny accounts with a sudden pile-on, new content going bad, and planned surges (whose volume is
NOT an anomaly when declared; the negative share inside them is).

Layout is NAB's, so scripts/nab_eval.py and tools/nabscore.py score it unchanged:
    OUT/data/synthetic/<name>.csv                 timestamp,value
    OUT/data/synthetic/<name>.total.csv           timestamp,value (all comments; for the share test)
    OUT/labels/combined_windows.json              {"synthetic/<name>.csv": [[start, end], ...]}
    OUT/labels/combined_labels.json               {"synthetic/<name>.csv": [label timestamps]}
    OUT/labels/surges.json                        planned surge windows [[start, end, factor], ...]

    python scripts/make_synthetic_streams.py --out /tmp/synth --seed 1
"""

from __future__ import annotations

import argparse
import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

BUCKET = timedelta(minutes=5)
PER_DAY = 288


def daily_profile(n: int, start_hour: float, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A smooth daily cycle (low at night, evening peak) with a weekly dip; mean ~1."""
    t = np.arange(n) / PER_DAY + start_hour / 24.0
    hour = (t % 1.0) * 24.0
    day = np.floor(t)
    evening = np.exp(-0.5 * ((hour - 21.0) / 2.5) ** 2)
    noon = 0.6 * np.exp(-0.5 * ((hour - 12.5) / 2.0) ** 2)
    night = 0.15
    shape = night + evening + noon
    shape = shape / shape.mean()
    weekly = 1.0 - 0.25 * ((day % 7) >= 5)
    prof = 1.0 + strength * (shape - 1.0)
    return np.clip(prof * weekly, 0.02, None)


def nb_sample(mu: np.ndarray, phi: float, rng: np.random.Generator) -> np.ndarray:
    if phi <= 0:
        return rng.poisson(mu)
    lam = rng.gamma(1.0 / phi, mu * phi)
    return rng.poisson(lam)


def add_shape(mult: np.ndarray, at: int, kind: str, size: float, dur: int) -> None:
    """Multiply the rate by an anomaly shape starting at row ``at``."""
    n = len(mult)
    end = min(n, at + dur)
    k = np.arange(end - at)
    if kind == "burst":  # jump then exponential decay
        mult[at:end] *= 1.0 + (size - 1.0) * np.exp(-k / max(dur / 3.0, 1.0))
    elif kind == "ramp":  # linear rise over dur, then holds for dur / 2 and decays
        mult[at:end] *= 1.0 + (size - 1.0) * (k / max(dur - 1, 1))
        hold_end = min(n, end + dur // 2)
        mult[end:hold_end] *= size
        tail = np.arange(min(n, hold_end + dur) - hold_end)
        mult[hold_end:hold_end + len(tail)] *= 1.0 + (size - 1.0) * np.exp(-tail / max(dur / 4.0, 1.0))
    elif kind == "shift":  # a lasting new level (e.g. a scandal that keeps going)
        mult[at:] *= size
    else:
        raise ValueError(kind)


def windows_for(labels: list[int], n: int) -> list[tuple[int, int]]:
    """NAB window geometry: total width 10% of the file, split between labels, centred on each."""
    if not labels:
        return []
    width = int(0.10 * n / len(labels))
    out = []
    for lab in labels:
        lo, hi = max(0, lab - width // 2), min(n - 1, lab + width // 2)
        out.append((lo, hi))
    # merge overlaps like NAB does
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(out):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def make_stream(name: str, rng: np.random.Generator, *, days: int, level: float, phi: float,
                season: float, growth: float, anomalies: list[tuple[str, float, int]],
                noise_bursts_per_day: float, share: float = 0.1, new_content: bool = False,
                surges: list[tuple[float, float, float]] | None = None, heavy_tail: float = 0.0):
    n = days * PER_DAY
    start = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
    prof = daily_profile(n, 0.0, rng, season)
    trend = np.exp(np.log(growth) * np.arange(n) / n)
    mult = np.ones(n)
    if new_content:  # a fresh video: comments decay with age (power law), with daily cycle
        age = np.arange(n) + 6.0
        trend = trend * (age / 6.0) ** -0.7 * 8.0
    # ordinary small bursts: not labelled, the detector should mostly stay quiet
    n_noise = rng.poisson(noise_bursts_per_day * days)
    for at in rng.integers(PER_DAY, n, size=n_noise):
        if heavy_tail:  # Pareto-sized news blips: most small, a few as big as a real incident, but short
            size = 1.3 * (1.0 - rng.random()) ** (-1.0 / heavy_tail)
            add_shape(mult, int(at), "burst", float(min(size, 30.0)), int(rng.integers(1, 8)))
        else:
            add_shape(mult, int(at), "burst", float(rng.uniform(1.5, 2.5)), int(rng.integers(2, 6)))
    labels = []
    probation = min(int(0.15 * n), 750)
    spacing = (n - probation) // (len(anomalies) + 1)
    neg_mult = np.ones(n)
    for i, (kind, size, dur) in enumerate(anomalies):
        at = probation + spacing * (i + 1) + int(rng.integers(-spacing // 4, spacing // 4 + 1))
        add_shape(mult, at, kind, size, dur)
        add_shape(neg_mult, at, kind, size, dur)
        # NAB labels sit where the anomaly is plainly visible: a ramp is labelled half way up
        labels.append(at + (dur // 2 if kind == "ramp" else 0))
    surge_mult = np.ones(n)
    surge_rows = []
    for sday, hours, factor in surges or []:
        a = int(sday * PER_DAY)
        b = min(n, a + int(hours * 12))
        surge_mult[a:b] *= factor
        surge_rows.append((a, b, factor))
    mu_total = level * prof * trend * surge_mult
    # negative comments: their share of all comments rises during anomalies
    mu_neg = mu_total * share * mult * np.where(neg_mult > 1, 1.0, 1.0)
    total = nb_sample(mu_total * np.maximum(mult * 0.3 + 0.7, 1.0), phi, rng)
    neg = np.minimum(nb_sample(mu_neg, phi, rng), total + nb_sample(mu_neg * 0.05, 0, rng))
    stamps = [(start + BUCKET * i).strftime("%Y-%m-%d %H:%M:%S") for i in range(n)]
    return stamps, neg, total, labels, surge_rows


SPECS = [
    # name, days, level (all comments / bucket), phi, season strength, growth, anomalies, noise bursts/day
    ("steady_mid", 40, 150, 0.05, 0.0, 1.0, [("burst", 6, 24), ("burst", 4, 36)], 0.5),
    ("diurnal_big", 50, 600, 0.15, 0.9, 1.0, [("burst", 5, 36), ("ramp", 4, 36), ("burst", 8, 24)], 0.7),
    ("diurnal_mid", 50, 120, 0.2, 0.8, 1.0, [("burst", 6, 24), ("burst", 3.5, 48)], 0.7),
    ("growth_x3", 45, 80, 0.15, 0.8, 3.0, [("burst", 5, 24), ("burst", 6, 36)], 0.5),
    ("growth_x10", 45, 30, 0.2, 0.7, 10.0, [("burst", 6, 36), ("ramp", 5, 48)], 0.5),
    ("ramp_slow", 40, 200, 0.1, 0.8, 1.0, [("ramp", 4, 72), ("ramp", 3.5, 96)], 0.5),
    ("tiny_account", 40, 4, 0.3, 0.6, 1.0, [("burst", 25, 24), ("burst", 15, 36)], 0.3),
    ("tiny_quiet", 40, 1, 0.3, 0.6, 1.0, [], 0.3),
    ("big_noisy", 45, 1500, 0.3, 0.9, 1.0, [("burst", 4, 36), ("burst", 6, 24)], 1.0),
    ("shift_scandal", 40, 100, 0.15, 0.8, 1.0, [("burst", 5, 24), ("shift", 3, 0)], 0.5),
    ("new_video", 20, 40, 0.2, 0.5, 1.0, [("burst", 8, 24)], 0.3),
    ("quiet_mid", 45, 100, 0.2, 0.8, 1.0, [], 0.7),
]
# social-volume-like streams (mentions per 5 minutes): heavy-tailed unlabelled blips, labelled incidents
# that last hours; labels where the incident is plainly visible
TWEETS = [
    ("tweets_a", 55, 60, 0.25, 0.8, 1.0, [("burst", 8, 72), ("burst", 5, 144), ("ramp", 4, 48)], 3.0),
    ("tweets_b", 55, 25, 0.3, 0.7, 1.0, [("burst", 10, 48), ("burst", 6, 96)], 3.0),
    ("tweets_c", 55, 150, 0.2, 0.8, 1.5, [("burst", 6, 96), ("burst", 12, 36), ("shift", 2.5, 0)], 4.0),
    ("tweets_d", 55, 10, 0.35, 0.6, 1.0, [("burst", 12, 48), ("burst", 8, 72)], 2.0),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--copies", type=int, default=1, help="independent copies of each spec")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    data_dir = a.out / "data" / "synthetic"
    data_dir.mkdir(parents=True, exist_ok=True)
    (a.out / "labels").mkdir(parents=True, exist_ok=True)
    windows, labels_out, surges_out = {}, {}, {}
    for copy in range(a.copies):
        for name, days, level, phi, season, growth, anomalies, noise in SPECS + TWEETS:
            fname = f"{name}_{copy}" if a.copies > 1 else name
            surges = [(days * 0.5, 4.0, 4.0)] if name.startswith("diurnal") else None
            stamps, neg, total, labels, surge_rows = make_stream(
                fname, rng, days=days, level=level, phi=phi, season=season, growth=growth,
                anomalies=anomalies, noise_bursts_per_day=noise, new_content=name.startswith("new_video"),
                surges=surges, heavy_tail=2.0 if name.startswith("tweets") else 0.0)
            rel = f"synthetic/{fname}.csv"
            for suffix, values in ((".csv", neg), (".total.csv", total)):
                with open(data_dir / f"{fname}{suffix}", "w", newline="") as handle:
                    w = csv.writer(handle)
                    w.writerow(["timestamp", "value"])
                    w.writerows(zip(stamps, (int(v) for v in values), strict=True))
            windows[rel] = [[stamps[lo] + ".000000", stamps[hi] + ".000000"] for lo, hi in windows_for(labels, len(stamps))]
            labels_out[rel] = [stamps[i] + ".000000" for i in labels]
            surges_out[rel] = [[stamps[a_], stamps[min(b_, len(stamps) - 1)], f] for a_, b_, f in surge_rows]
    (a.out / "labels" / "combined_windows.json").write_text(json.dumps(windows, indent=1))
    (a.out / "labels" / "combined_labels.json").write_text(json.dumps(labels_out, indent=1))
    (a.out / "labels" / "surges.json").write_text(json.dumps(surges_out, indent=1))
    print(f"wrote {len(windows)} streams to {a.out}")


if __name__ == "__main__":
    main()
