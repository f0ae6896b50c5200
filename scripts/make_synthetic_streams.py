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


# ---------------------------------------------------------------------------------------------------------
# "social" family: randomised social-volume streams, written NOT to match the detector's assumptions.
# Every stream draws its own level (log-uniform 2..400 per bucket), over-dispersion, daily shape and peak
# hour (time zone), weekend effect (dip or bump), growth or decline, occasional unlabelled level steps,
# heavy-tailed unlabelled blips of varied length (minutes to a broad "news day"), and 1-4 labelled
# incidents of varied shape (a short sharp spike, a burst with decay, a slow ramp, a double peak, a
# plateau), sometimes with a smaller precursor hours before. Labels sit at the incident onset (ramps: where
# the rise is plainly visible). With --messy, exports also lose rows (gaps), repeat rows and swap rows.


def _social_profile(n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / PER_DAY
    hour = (t % 1.0) * 24.0
    day = np.floor(t)
    peak = rng.uniform(0, 24)
    second = (peak + rng.uniform(6, 12)) % 24
    width = rng.uniform(2.0, 5.0)

    def bump(h0, w):
        d = np.minimum(np.abs(hour - h0), 24 - np.abs(hour - h0))
        return np.exp(-0.5 * (d / w) ** 2)

    shape = rng.uniform(0.05, 0.4) + bump(peak, width) + rng.uniform(0, 0.8) * bump(second, rng.uniform(1.5, 4))
    shape = shape / shape.mean()
    strength = rng.uniform(0.3, 1.0)
    prof = 1.0 + strength * (shape - 1.0)
    weekend = rng.choice([rng.uniform(-0.5, -0.1), rng.uniform(0.05, 0.3), 0.0], p=[0.6, 0.2, 0.2])
    wk_day = int(rng.integers(0, 7))
    weekly = 1.0 + weekend * (((day + wk_day) % 7) >= 5)
    return np.clip(prof * weekly, 0.01, None)


def _incident(n: int, at: int, rng: np.random.Generator, level: float) -> tuple[np.ndarray, int]:
    """A labelled incident multiplier and its label row."""
    mult = np.ones(n)
    kind = rng.choice(["spike", "burst", "ramp", "double", "plateau"], p=[0.25, 0.3, 0.2, 0.1, 0.15])
    # smaller accounts need a bigger relative jump to be an incident anyone would label
    small = 1.0 + 3.0 / np.sqrt(max(level, 0.5))
    size = float(rng.uniform(2.5, 10.0) * small)
    label = at
    if kind == "spike":
        dur = int(rng.integers(3, 13))
        k = np.arange(min(dur, n - at))
        mult[at:at + len(k)] = 1.0 + (size * 1.5 - 1.0) * np.exp(-k / max(dur / 2.0, 1.0))
    elif kind == "burst":
        dur = int(rng.integers(24, 200))
        k = np.arange(min(dur, n - at))
        mult[at:at + len(k)] = 1.0 + (size - 1.0) * np.exp(-k / max(dur / 3.0, 1.0))
    elif kind == "ramp":
        dur = int(rng.integers(24, 150))
        size = float(rng.uniform(2.5, 6.0) * small)
        k = np.arange(min(dur, n - at))
        mult[at:at + len(k)] = 1.0 + (size - 1.0) * k / max(dur - 1, 1)
        hold = int(rng.integers(6, 60))
        end = at + len(k)
        mult[end:min(n, end + hold)] = size
        tail = np.arange(min(n, end + hold + 3 * dur) - min(n, end + hold))
        mult[end + hold:end + hold + len(tail)] = 1.0 + (size - 1.0) * np.exp(-tail / max(dur / 3.0, 1.0))
        # labelled where the rise is plainly visible (somewhere in its first half)
        label = at + int(rng.uniform(0.2, 0.6) * dur)
    elif kind == "double":
        for off, sz in ((0, size), (int(rng.integers(12, 72)), size * rng.uniform(0.6, 1.5))):
            dur = int(rng.integers(12, 72))
            a = min(n - 1, at + off)
            k = np.arange(min(dur, n - a))
            mult[a:a + len(k)] *= 1.0 + (sz - 1.0) * np.exp(-k / max(dur / 3.0, 1.0))
    else:  # plateau: a lasting elevated level for hours, then back
        dur = int(rng.integers(36, 288))
        size = float(rng.uniform(2.0, 5.0) * small)
        mult[at:min(n, at + dur)] = size
    if rng.random() < 0.3:  # a precursor: a smaller rise a few hours earlier
        pre = at - int(rng.integers(12, 96))
        if pre > 0:
            dur = int(rng.integers(6, 36))
            k = np.arange(min(dur, at - pre))
            mult[pre:pre + len(k)] *= 1.0 + (size - 1.0) * rng.uniform(0.15, 0.4) * np.exp(-k / max(dur / 3.0, 1.0))
    return mult, label


def make_social_stream(rng: np.random.Generator, messy: bool, gappy: np.random.Generator | None = None):
    days = int(rng.integers(35, 60))
    n = days * PER_DAY
    level = float(np.exp(rng.uniform(np.log(2.0), np.log(400.0))))
    phi = float(rng.uniform(0.05, 0.5))
    prof = _social_profile(n, rng)
    trend = np.exp(np.log(np.exp(rng.normal(0.0, 0.5))) * np.arange(n) / n)
    for _ in range(rng.poisson(0.5)):  # unlabelled lasting steps (a follower jump, a quieter season)
        at = int(rng.integers(0, n))
        trend[at:] *= np.exp(rng.normal(0.0, 0.3))
    probation = min(int(0.15 * n), 750)
    n_inc = int(rng.integers(1, 5))
    spacing = (n - probation) // (n_inc + 1)
    labels = []
    mult = np.ones(n)
    smallest = np.inf
    for i in range(n_inc):
        at = probation + spacing * (i + 1) + int(rng.integers(-spacing // 3, spacing // 3 + 1))
        m, label = _incident(n, at, rng, level)
        mult *= m
        smallest = min(smallest, float(m.max()))
        labels.append(min(label, n - 1))
    # ordinary life: heavy-tailed unlabelled blips (Pareto sizes). A human labeller marks what is plainly
    # unusual for THIS stream, so blips stay below the smallest labelled incident (at most 70% of its
    # peak), but many are big enough to trip a naive detector.
    blips_per_day = rng.uniform(0.5, 4.0)
    alpha = rng.uniform(1.5, 3.0)
    cap = max(1.2, 0.7 * smallest)
    for at in rng.integers(0, n, size=rng.poisson(blips_per_day * days)):
        size = min(1.2 * (1.0 - rng.random()) ** (-1.0 / alpha), cap)
        dur = int(np.exp(rng.uniform(0.0, np.log(24.0))))
        k = np.arange(min(dur, n - at))
        mult[at:at + len(k)] *= 1.0 + (size - 1.0) * np.exp(-k / max(dur / 2.0, 1.0))
    for at in rng.integers(0, n, size=rng.poisson(0.08 * days)):  # broad unlabelled "news days"
        dur = int(rng.integers(72, 288))
        mult[at:min(n, at + dur)] *= rng.uniform(1.3, 2.0)
    mu = level * prof * trend * mult
    values = nb_sample(mu, phi, rng)
    start = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(minutes=5 * int(rng.integers(0, PER_DAY)),
                                                         seconds=int(rng.integers(0, 60)))
    times = [start + BUCKET * i for i in range(n)]
    order = list(range(n))
    if messy:
        keep = np.ones(n, dtype=bool)
        for _ in range(rng.poisson(4)):  # gaps: the export lost some rows
            a = int(rng.integers(0, n))
            keep[a:a + int(rng.integers(1, 60))] = False
        for lab in labels:
            keep[lab] = True
        if gappy is not None:  # real exports (e.g. NAB's tweet volumes) miss ~1-4% of buckets, one here and there
            keep &= gappy.random(n) >= gappy.uniform(0.0, 0.04)
            for lab in labels:
                keep[lab] = True
        order = [i for i in range(n) if keep[i]]
        for _ in range(rng.poisson(5)):  # repeated rows
            j = int(rng.integers(1, len(order)))
            order.insert(j, order[j - 1])
        for _ in range(rng.poisson(3)):  # a row out of order
            j = int(rng.integers(1, len(order) - 1))
            order[j], order[j + 1] = order[j + 1], order[j]
    return times, values, labels, order


def write_social(out: Path, seed: int, streams: int, messy: bool, gappy: bool = False) -> None:
    rng = np.random.default_rng(seed)
    # a separate generator, so --gappy leaves every other draw of a seed unchanged
    gap_rng = np.random.default_rng(seed + 7919) if gappy else None
    data_dir = out / "data" / "social"
    data_dir.mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    windows, labels_out = {}, {}
    for k in range(streams):
        times, values, labels, order = make_social_stream(rng, messy, gap_rng)
        fname = f"social_{seed}_{k:02d}"
        stamps = [times[i].strftime("%Y-%m-%d %H:%M:%S") for i in order]
        with open(data_dir / f"{fname}.csv", "w", newline="") as handle:
            w = csv.writer(handle)
            w.writerow(["timestamp", "value"])
            w.writerows((stamps[j], int(values[i])) for j, i in enumerate(order))
        # NAB geometry on output rows: a label's row is its first occurrence
        row_of = {}
        for j, i in enumerate(order):
            row_of.setdefault(i, j)
        label_rows = sorted(row_of[lab] for lab in labels)
        rel = f"social/{fname}.csv"
        wins = windows_for(label_rows, len(order))
        windows[rel] = [[stamps[lo] + ".000000", stamps[hi] + ".000000"] for lo, hi in wins]
        labels_out[rel] = [stamps[r] + ".000000" for r in label_rows]
    (out / "labels" / "combined_windows.json").write_text(json.dumps(windows, indent=1))
    (out / "labels" / "combined_labels.json").write_text(json.dumps(labels_out, indent=1))
    print(f"wrote {len(windows)} social streams to {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--copies", type=int, default=1, help="independent copies of each spec")
    ap.add_argument("--family", choices=["classic", "social"], default="classic",
                    help="classic: the fixed specs below; social: randomised social-volume streams")
    ap.add_argument("--streams", type=int, default=20, help="social family: number of streams")
    ap.add_argument("--messy", action="store_true", help="social family: gaps, repeated and swapped rows")
    ap.add_argument("--gappy", action="store_true", help="with --messy: also drop 0-4%% of single rows")
    a = ap.parse_args()
    if a.family == "social":
        write_social(a.out, a.seed, a.streams, a.messy, a.gappy)
        return
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
