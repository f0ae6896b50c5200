"""A causal, streaming spike detector for count streams (negative comments, mentions per bucket).

Pure logic, no I/O. The service, the backtest and the benchmark all use this one class with the same
default settings, so what users tune on their history is what runs in production.

How it decides, at the end of each bucket, from the past only:
- Baseline: a level (exponentially weighted, in de-seasonalised counts per bucket, so it follows growth)
  times a daily profile (hourly slots, linearly interpolated, learnt over recent days), times the
  caller's ``expected_factor`` (planned surges raise the baseline instead of alerting). New content with
  no history can pass ``prior_expected`` (the account's usual count for posts of this age).
- Test: a negative-binomial upper-tail p-value (Poisson when there is no over-dispersion) of the observed
  count, and of the sums over the last few buckets (a slow ramp shows up in the sums before any single
  bucket is extreme). Dispersion is learnt from the residuals, so a big account's ordinary noise does not
  page anyone; a minimum count keeps a tiny account's 3 comments quiet.
- Episodes: one alert per episode (refractory), severity from the size of the excess, recovery after the
  stream has been back within normal for ``recovery_buckets``, then a cooldown.
- Optional share test: negative vs total counts (binomial tail with a design effect) against the usual
  share; it still alerts during a planned surge, when volume alone would not.

State is a small JSON-serialisable dict (``to_state``/``from_state``) so the service can persist it.
"""

from __future__ import annotations

import base64
import difflib
import math
import sys
from array import array
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any

LN10 = math.log(10.0)
SECONDS_PER_DAY = 86400.0
STATE_VERSION = 2  # 2: usual-share sums start from zero (version 1 states lose only those)


#: The range of every numeric knob, as pydantic-style bounds (gt/ge/le; for the tuples, of each entry), so
#: the config layer can report each bad key with its path while this module stays free of pydantic. A
#: negative threshold or a zero half-life makes the detector page on every bucket or divide by zero, and
#: fails only at run time, far from the file that caused it.
KNOB_BOUNDS: dict[str, dict[str, float]] = {
    "bucket_seconds": {"gt": 0}, "season_slots": {"ge": 1}, "season_halflife_days": {"gt": 0},
    "weekly_halflife_weeks": {"gt": 0}, "level_halflife_hours": {"gt": 0}, "dispersion_halflife_hours": {"gt": 0},
    "dispersion_initial": {"ge": 0}, "dispersion_min": {"ge": 0}, "dispersion_max": {"ge": 0},
    "first_day_dispersion": {"ge": 0},
    "windows": {"ge": 1}, "threshold": {"gt": 0}, "window_thresholds": {"gt": 0},
    "min_count": {"ge": 0}, "min_ratio": {"ge": 1}, "expected_floor": {"gt": 0},
    "warmup_buckets": {"ge": 0}, "recovery_buckets": {"ge": 1}, "recovery_threshold": {"gt": 0},
    "recovery_window": {"ge": 1}, "cooldown_buckets": {"ge": 0}, "max_episode_buckets": {"ge": 1},
    "sev2_ratio": {"ge": 1}, "sev1_ratio": {"ge": 1}, "sev1_min_count": {"ge": 0},
    "winsor_sd": {"gt": 0}, "prior_blend_buckets": {"ge": 0},
    "share_threshold": {"gt": 0}, "share_min_ratio": {"ge": 1}, "share_min": {"ge": 0, "le": 1},
    "share_design_effect": {"gt": 0}, "share_halflife_hours": {"gt": 0}, "share_warmup_total": {"ge": 0},
    # 0 turns the no-baseline rule off
    "cold_start_window": {"ge": 0}, "cold_start_min_negative": {"ge": 0}, "cold_start_min_share": {"gt": 0, "le": 1},
}
_BOUND_WORDS = {"gt": ("应大于", "must be greater than"), "ge": ("应不小于", "must be at least"),
                "le": ("应不大于", "must be at most")}


def _out_of_range(name: str, value: Any) -> str | None:
    """Why one value of knob ``name`` is out of range (Chinese first), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"{name}: 应为有限的数 / must be a finite number, got {value!r}"
    for op, limit in KNOB_BOUNDS.get(name, {}).items():
        if not {"gt": value > limit, "ge": value >= limit, "le": value <= limit}[op]:
            zh, en = _BOUND_WORDS[op]
            return f"{name}: {zh} {limit:g} / {en} {limit:g}, got {value!r}"
    return None


def unknown_knob_message(names: Sequence[str]) -> str:
    """Unknown detector keys, with the closest known name for each (a typo is the usual cause)."""
    known = sorted(DetectorSettings.__dataclass_fields__)
    parts = []
    for name in sorted(names):
        close = difflib.get_close_matches(str(name), known, n=1)
        parts.append(f"{name!r}（是不是 / did you mean {close[0]}?）" if close else repr(name))
    return f"未知的检测器设置 / unknown detector settings: {', '.join(parts)}"


def window_thresholds_problem(windows: Sequence[Any], window_thresholds: Sequence[Any]) -> str | None:
    """Per-window thresholds need one entry per window (empty: ``threshold`` for every window)."""
    if window_thresholds and len(window_thresholds) != len(windows):
        return (f"每个窗口需要一个阈值：windows 有 {len(windows)} 个，window_thresholds 有 {len(window_thresholds)} 个 / "
                f"window_thresholds must have one entry per window ({len(windows)} windows, "
                f"{len(window_thresholds)} thresholds)")
    return None


@dataclass(frozen=True)
class DetectorSettings:
    """Tuning knobs. Defaults were chosen by leave-one-out tuning (see docs/alerts.md)."""

    bucket_seconds: float = 300.0
    #: hourly slots of the daily profile
    season_slots: int = 24
    #: half-life of the daily profile, in days (how fast the "same time of day" memory forgets)
    season_halflife_days: float = 3.0
    #: a day-of-week adjustment on top of the daily profile (weekends differ), half-life in weeks
    weekly: bool = True
    weekly_halflife_weeks: float = 3.0
    #: half-life of the level (growth adaptation), in hours
    level_halflife_hours: float = 12.0
    #: half-life of the dispersion estimate, in hours
    dispersion_halflife_hours: float = 48.0
    #: initial and minimum over-dispersion phi (variance = mu + phi * mu^2)
    dispersion_initial: float = 0.3
    dispersion_min: float = 0.01
    dispersion_max: float = 4.0
    #: extra dispersion while the first day of the daily profile is still being learnt
    first_day_dispersion: float = 0.6
    #: surprise (-log10 p) needed to open an episode, per window length in buckets
    windows: tuple[int, ...] = (1, 3, 12)
    #: every window's threshold only when ``window_thresholds`` is empty; while it is set (the default) this
    #: changes no alert, only the score of repeated/out-of-order rows and the scale of ``Decision.surprise``
    threshold: float = 5.5
    #: optional per-window thresholds (same length as ``windows``). Short windows need much more evidence
    #: than the hour-long sum: blips of a few buckets are the commonest false alarm, while an incident that
    #: lasts is caught by the 12-bucket sum within the hour (NAB windows are a day or more wide, so that
    #: hour costs ~3% of a detection while each false alarm costs 11%)
    window_thresholds: tuple[float, ...] = (12.0, 12.0, 5.5)
    #: the observed sum over the window must be at least this many counts and this multiple of expected
    min_count: float = 8.0
    min_ratio: float = 1.3
    #: floor for the expected count per bucket (a silent stream is not "infinitely" surprised by 1)
    expected_floor: float = 0.2
    #: buckets of history before the detector may alert on its own baseline
    warmup_buckets: int = 36
    #: back within normal (surprise below ``recovery_threshold`` on all windows) for this many buckets
    recovery_buckets: int = 12
    recovery_threshold: float = 1.3
    #: windows up to this many buckets decide recovery
    recovery_window: int = 3
    #: buckets after recovery during which no new episode may open (unless it is explosive: sev1);
    #: 12 hours: aftershocks of the same story are one episode for the team
    cooldown_buckets: int = 144
    #: an episode still running after this many buckets is closed (the new level is the new normal)
    max_episode_buckets: int = 288
    #: severity from the excess ratio (observed / expected over the triggering window)
    sev2_ratio: float = 3.0
    sev1_ratio: float = 6.0
    sev1_min_count: float = 30.0
    #: winsorise baseline updates at expected + this many standard deviations
    winsor_sd: float = 2.5
    #: prior curve: buckets over which the stream's own baseline takes over from ``prior_expected``
    prior_blend_buckets: int = 72
    #: share test (negative vs total)
    share_threshold: float = 5.0
    share_min_ratio: float = 2.0
    share_min: float = 0.25
    share_design_effect: float = 3.0
    share_halflife_hours: float = 72.0
    share_warmup_total: float = 50.0
    #: no baseline yet (warm-up, and no prior curve for the content): a stream whose first hours are
    #: already a pile-on would learn the crisis as its normal and never alert. While it warms up it alerts
    #: (sev2, reason "no_baseline") when, over the last ``cold_start_window`` buckets, at least
    #: ``cold_start_min_negative`` comments are negative and they are ``cold_start_min_share`` of all of
    #: them. Needs the share (value = negative, total = all); 0 windows turns it off. Ordinary comment
    #: sections run 10-30% negative under the default model (the demo feed's calm hours: 15-25%).
    cold_start_window: int = 12
    cold_start_min_negative: float = 30.0
    cold_start_min_share: float = 0.6

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["windows"] = list(self.windows)
        data["window_thresholds"] = list(self.window_thresholds)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorSettings:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(unknown_knob_message(sorted(unknown)))
        values = dict(data)
        if "windows" in values:
            values["windows"] = tuple(int(w) for w in values["windows"])
        if "window_thresholds" in values:
            values["window_thresholds"] = tuple(float(t) for t in values["window_thresholds"])
        return cls(**values)

    def __post_init__(self) -> None:
        # every problem at once, so a hand-tuned set of knobs is fixed in one go
        problems: list[str] = []
        if not self.windows:
            problems.append("windows: 至少需要一个窗口 / needs at least one window")
        for name in KNOB_BOUNDS:
            value = getattr(self, name)
            for item in value if isinstance(value, tuple) else (value,):
                problem = _out_of_range(name, item)
                if problem:
                    problems.append(problem)
                    break
        mismatch = window_thresholds_problem(self.windows, self.window_thresholds)
        if mismatch:
            problems.append(mismatch)
        if problems:
            raise ValueError("; ".join(problems))

    def threshold_for(self, index: int) -> float:
        """The surprise needed on the ``index``-th window."""
        return self.window_thresholds[index] if self.window_thresholds else self.threshold


@dataclass
class Decision:
    """What the detector concluded at the end of one bucket."""

    timestamp: float
    value: float
    expected: float
    #: 0..1, 0.5 = the alert threshold (max over windows of surprise / (2 * threshold))
    score: float
    #: -log10 of the smallest tail p-value over the windows
    surprise: float
    #: the window (in buckets) with the largest surprise, its observed and expected sums
    window: int = 1
    window_observed: float = 0.0
    window_expected: float = 0.0
    ratio: float = 1.0
    new_alert: bool = False
    in_episode: bool = False
    severity: str | None = None
    severity_raised: bool = False
    recovered: bool = False
    reason: str | None = None  # "volume" | "share" | "no_baseline"
    share: float | None = None
    share_expected: float | None = None
    share_surprise: float = 0.0
    late: bool = False
    #: surprise of this bucket's count alone (the 1-bucket test, whatever ``windows`` holds): whether the
    #: bucket itself is unusual, not just a window sum that still remembers earlier buckets
    bucket_surprise: float = 0.0
    #: start (epoch seconds) of the episode this bucket belongs to, when in one
    episode_start: float | None = None
    #: the no-baseline rule's window (buckets) and its negative and total sums, when it was evaluated
    cold_window: int = 0
    cold_negative: float = 0.0
    cold_total: float = 0.0


def _to_epoch(timestamp: float | datetime) -> float:
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return timestamp.timestamp()
    return float(timestamp)


def nb_log10_sf(x: float, mu: float, phi: float) -> float:
    """log10 P(X >= x) for X ~ NegBin(mean mu, variance mu + phi mu^2); Poisson when phi ~ 0.

    O(1): the tail is bounded by pmf(x) / (1 - rho), rho the (largest) ratio of successive terms beyond x.
    The bound is tight when x is well above the mean (the only place alerts care about) and never
    understates the p-value, so errors only make the detector more conservative.
    """
    if x <= mu or x <= 0:
        return 0.0
    if phi < 1e-6:
        # Poisson: log pmf(x) = x ln mu - mu - lgamma(x+1); ratio of terms mu / (k+1)
        log_pmf = x * math.log(mu) - mu - math.lgamma(x + 1.0)
        rho = mu / (x + 1.0)
    else:
        r = 1.0 / phi
        q = mu / (r + mu)  # "success" probability in the failures parameterisation
        log_pmf = (math.lgamma(x + r) - math.lgamma(r) - math.lgamma(x + 1.0)
                   + r * math.log1p(-q) + x * math.log(q))
        rho = max((x + r) / (x + 1.0) * q, q)
    if rho >= 1.0:
        return 0.0
    log_sf = log_pmf - math.log1p(-rho)
    return min(0.0, log_sf / LN10)


def binomial_log10_sf(k: float, n: float, p: float, design_effect: float) -> float:
    """log10 P(K >= k) for K ~ Binomial(n, p) with over-dispersion (normal approximation on n / deff).

    The design effect shrinks the effective sample: comments on one video are not independent.
    """
    if n <= 0 or k <= n * p:
        return 0.0
    p = min(max(p, 1e-4), 1 - 1e-4)
    sd = math.sqrt(design_effect * n * p * (1.0 - p))
    z = (k - 0.5 - n * p) / sd
    if z <= 0:
        return 0.0
    # log10 of the normal upper tail; erfc underflows around z ~ 38, use the asymptotic form there
    if z < 30:
        return math.log10(max(0.5 * math.erfc(z / math.sqrt(2.0)), 1e-300))
    return (-0.5 * z * z - math.log(z * math.sqrt(2 * math.pi))) / LN10


def dst_seconds(ts: float, zone: tzinfo) -> float:
    """The daylight-saving shift (seconds) in force in ``zone`` at epoch ``ts``; 0 where the zone has none."""
    delta = datetime.fromtimestamp(ts, zone).dst()
    return delta.total_seconds() if delta else 0.0


def _halflife_alpha(halflife_steps: float) -> float:
    if halflife_steps <= 0:
        return 1.0
    return 1.0 - 0.5 ** (1.0 / halflife_steps)


@dataclass
class _Episode:
    start: float
    severity: str
    peak_ratio: float
    peak_value: float
    buckets: int = 0
    quiet: int = 0
    reason: str = "volume"


@dataclass
class SpikeDetector:
    """One stream's detector. Feed it one bucket at a time with :meth:`observe`."""

    settings: DetectorSettings = field(default_factory=DetectorSettings)
    n: int = 0
    last_ts: float | None = None
    level: float | None = None
    season: Sequence[float] = field(default_factory=list)  # array("d") once built
    season_n: Sequence[float] = field(default_factory=list)
    week: Sequence[float] = field(default_factory=list)
    week_n: Sequence[float] = field(default_factory=list)
    phi: float = -1.0
    recent_obs: list[float] = field(default_factory=list)
    recent_exp: list[float] = field(default_factory=list)
    #: all comments and negative comments of the last ``cold_start_window`` buckets, while the share is
    #: known (the no-baseline test reads them; recent_obs holds only ``max(windows)`` buckets)
    recent_tot: list[float] = field(default_factory=list)
    recent_neg: list[float] = field(default_factory=list)
    episode: _Episode | None = None
    cooldown_left: int = 0
    share_neg: float = 0.0
    share_total: float = 0.0
    share_seen: float = 0.0
    #: the time zone whose *standard* time the daily and weekly slots follow (see ``_slot_time``). Not part
    #: of the state: the caller passes the configured zone each time it builds or loads a detector. None,
    #: UTC and zones without daylight saving time (Asia/Shanghai) give exactly the UTC slots.
    zone: tzinfo | None = None

    def __post_init__(self) -> None:
        s = self.settings
        # (zone, start, end, shift): the DST shift found constant over [start, end), one clock hour
        self._dst_cache: tuple[Any, float, float, float] = (None, 0.0, 0.0, 0.0)
        if not self.season:
            self.season = [1.0] * s.season_slots
            self.season_n = [0.0] * s.season_slots
        if not self.week:
            self.week = [1.0] * (7 * s.season_slots)
            self.week_n = [0.0] * (7 * s.season_slots)
        # Kept as arrays of doubles: the state is packed every bucket, and an array packs with one copy
        # where a list of 168 floats is converted item by item (a tenth of a 10,000-stream tick).
        self.season, self.season_n, self.week, self.week_n = (
            _doubles(self.season), _doubles(self.season_n), _doubles(self.week), _doubles(self.week_n))
        if self.phi < 0:
            self.phi = s.dispersion_initial
        self._max_window = max(s.windows)
        b = s.bucket_seconds
        self._a_level = _halflife_alpha(s.level_halflife_hours * 3600.0 / b)
        self._a_phi = _halflife_alpha(s.dispersion_halflife_hours * 3600.0 / b)
        # each slot is updated (weight ~1 per bucket inside it) slot_len/bucket times per day
        per_day = SECONDS_PER_DAY / s.season_slots / b
        self._a_season = _halflife_alpha(s.season_halflife_days * max(per_day, 1.0))
        self._a_share = _halflife_alpha(s.share_halflife_hours * 3600.0 / b)
        self._slot_len = SECONDS_PER_DAY / s.season_slots
        self._a_week = _halflife_alpha(s.weekly_halflife_weeks * max(per_day, 1.0))
        # a weekly slot is trusted once it has seen about one week's worth of its buckets
        self._week_trust = max(per_day, 1.0)
        self._buckets_per_day = SECONDS_PER_DAY / b

    # ------------------------------------------------------------------ baseline
    def _slot_time(self, ts: float) -> float:
        """The time the daily and weekly slots are read at: ``ts`` moved by the zone's DST shift, so a slot
        is the same hour of the zone's standard time all year. Without the shift, a rhythm kept in local time
        (the evening peak at 20:30 in Berlin) moved one slot at each change of the clocks and the week after
        it paged every evening. Zones without DST (and no zone) shift by 0: the slots, and so every output
        and stored state, are exactly the UTC ones they always were.

        The shift is looked up once per clock hour of epoch time (at both ends of the hour; an hour with a
        change of the clocks inside it is looked up bucket by bucket)."""
        zone = self.zone
        if zone is None:
            return ts
        cached, start, end, shift = self._dst_cache
        if cached is zone and start <= ts < end:
            return ts + shift
        if isinstance(zone, timezone):  # a fixed offset: never any DST
            self._dst_cache = (zone, -math.inf, math.inf, 0.0)
            return ts
        start = ts - ts % 3600.0
        shift = dst_seconds(start, zone)
        if dst_seconds(start + 3599.0, zone) != shift:
            return ts + dst_seconds(ts, zone)
        self._dst_cache = (zone, start, start + 3600.0, shift)
        return ts + shift

    def _slot_weights(self, ts: float) -> tuple[int, int, float]:
        """Two neighbouring slots and the weight of the second (linear interpolation by time of day);
        ``ts`` is a slot time (:meth:`_slot_time`)."""
        pos = (ts % SECONDS_PER_DAY) / self._slot_len - 0.5
        i = math.floor(pos)
        w = pos - i
        slots = self.settings.season_slots
        return i % slots, (i + 1) % slots, w

    def _week_weights(self, ts: float) -> tuple[int, int, float]:
        # epoch day 0 was a Thursday; the phase does not matter, only the 7-day period
        pos = (ts % (7 * SECONDS_PER_DAY)) / self._slot_len - 0.5
        i = math.floor(pos)
        n = len(self.week)
        return i % n, (i + 1) % n, pos - i

    def _week_adjust(self, ts: float) -> float:
        if not self.settings.weekly:
            return 1.0
        i, j, w = self._week_weights(ts)
        adj = 1.0
        for slot, weight in ((i, 1.0 - w), (j, w)):
            n = self.week_n[slot]
            trust = n / (n + self._week_trust)
            adj += weight * trust * (self.week[slot] - 1.0)
        return adj

    def _daily_factor(self, ts: float) -> float:
        i, j, w = self._slot_weights(ts)
        return max((1.0 - w) * self.season[i] + w * self.season[j], 0.02)

    def _season_factor(self, ts: float) -> float:
        st = self._slot_time(ts)
        return max(self._daily_factor(st) * self._week_adjust(st), 0.02)

    def expected(self, ts: float | datetime, expected_factor: float = 1.0,
                 prior_expected: float | None = None, *, _factors: tuple[float, float] | None = None) -> float:
        """The baseline count for the bucket at ``ts`` (before seeing it)."""
        ts = _to_epoch(ts)
        s = self.settings
        if _factors is None:
            st = self._slot_time(ts)
            _factors = (self._daily_factor(st), self._week_adjust(st))
        daily, week = _factors
        own = (self.level or 0.0) * max(daily * week, 0.02)
        if prior_expected is not None and self.n < s.prior_blend_buckets:
            w = self.n / s.prior_blend_buckets
            own = w * own + (1.0 - w) * prior_expected
        return max(own * max(expected_factor, 0.0), s.expected_floor)

    def _update_baseline(self, ts: float, value: float, mu: float, expected_factor: float,
                         factors: tuple[float, float]) -> None:
        """``ts``: the bucket's slot time (:meth:`_slot_time`). ``factors``: the daily factor and weekly
        adjustment at it, as observe computed them before any change to the profiles (only the loops at the
        end of this method change them)."""
        s = self.settings
        daily, week = factors
        factor = max(expected_factor, 1e-6)
        sd = math.sqrt(mu + self.phi * mu * mu)
        clipped = min(max(value, mu - s.winsor_sd * sd), mu + s.winsor_sd * sd)
        clipped = max(clipped, 0.0) / factor
        mu_plain = mu / factor
        # dispersion from the (winsorised) residual, only once a baseline exists
        if self.level is not None and self.n >= 3:
            e = ((clipped - mu_plain) ** 2 - mu_plain) / (mu_plain * mu_plain)
            e = min(max(e, -1.0), s.dispersion_max)
            a = max(self._a_phi, 1.0 / (self.n + 1))
            self.phi = min(max(self.phi + a * (e - self.phi), s.dispersion_min), s.dispersion_max)
        f = max(daily * week, 0.02)
        deseason = clipped / f
        if self.level is None:
            self.level = max(value / factor, 0.0) / f
        else:
            a = max(self._a_level, 1.0 / (self.n + 1))
            self.level += a * (deseason - self.level)
        # daily profile: move the two neighbouring slots toward value / level
        if self.level and self.level > 1e-9:
            week_adj = max(week, 0.05)
            if s.weekly:
                target_w = min(clipped / (self.level * daily), 20.0)
                i, j, w = self._week_weights(ts)
                for slot, weight in ((i, 1.0 - w), (j, w)):
                    if weight <= 0:
                        continue
                    self.week_n[slot] += weight
                    a = max(self._a_week, weight / (self.week_n[slot] + 1.0)) * weight
                    self.week[slot] += a * (target_w - self.week[slot])
            target = min(clipped / (self.level * week_adj), 20.0)
            i, j, w = self._slot_weights(ts)
            for slot, weight in ((i, 1.0 - w), (j, w)):
                if weight <= 0:
                    continue
                self.season_n[slot] += weight
                a = max(self._a_season, weight / (self.season_n[slot] + 1.0)) * weight
                self.season[slot] += a * (target - self.season[slot])

    # ------------------------------------------------------------------ main step
    def observe(self, timestamp: float | datetime, value: float, *, total: float | None = None,
                expected_factor: float = 1.0, prior_expected: float | None = None) -> Decision:
        """Close one bucket (``timestamp`` = its start) with ``value`` counts and decide.

        ``total`` enables the share test (value = negative count, total = all counts).
        ``expected_factor`` > 1 declares a planned surge. ``prior_expected`` is the expected count from the
        account's usual curve for content of this age (new content with no history).
        Rows at or before the last timestamp are scored but change nothing and never alert.
        """
        ts = _to_epoch(timestamp)
        if value is None or not math.isfinite(value) or value < 0:
            raise ValueError(f"bucket value must be a finite count >= 0, got {value!r}")
        s = self.settings
        # the profiles at ts, computed once: expected() and the baseline update both need them
        st = self._slot_time(ts)
        factors = (self._daily_factor(st), self._week_adjust(st))
        mu = self.expected(ts, expected_factor, prior_expected, _factors=factors)
        if self.last_ts is not None and ts <= self.last_ts:
            surprise = -nb_log10_sf(value, mu, self.phi + self._model_uncertainty(prior_expected))
            return Decision(ts, value, mu, min(surprise / (2 * s.threshold), 1.0), surprise, late=True,
                            in_episode=self.episode is not None)
        if self.last_ts is not None and ts - self.last_ts > 1.5 * s.bucket_seconds:
            # a gap: window sums would mix distant buckets
            self.recent_obs.clear()
            self.recent_exp.clear()
            self.recent_tot.clear()
            self.recent_neg.clear()
        if total is None:
            self.recent_tot.clear()
            self.recent_neg.clear()
        else:
            self.recent_tot.append(float(total))
            self.recent_neg.append(float(value))
            if len(self.recent_tot) > s.cold_start_window:
                del self.recent_tot[: len(self.recent_tot) - s.cold_start_window]
                del self.recent_neg[: len(self.recent_neg) - s.cold_start_window]
        self.recent_obs.append(float(value))
        self.recent_exp.append(mu)
        if len(self.recent_obs) > self._max_window:
            del self.recent_obs[0]
            del self.recent_exp[0]

        phi = self.phi
        model = self._model_uncertainty(prior_expected)
        best = (0.0, 1, value, mu)
        bucket_surprise = None
        short_surprise = 0.0
        medium_high = False
        eligible = False
        for index, w in enumerate(s.windows):
            if w > len(self.recent_obs):
                continue
            obs = sum(self.recent_obs[-w:])
            exp = sum(self.recent_exp[-w:])
            # a w-bucket sum of NB(mu, phi) behaves like NB(sum mu, phi / w); an error in the baseline
            # itself (short history, unknown daily profile) does not average out over the window
            sur = -nb_log10_sf(obs, exp, min(phi / w + model, s.dispersion_max))
            if w == 1:
                bucket_surprise = sur
            need = s.threshold_for(index)
            if w <= s.recovery_window:
                short_surprise = max(short_surprise, sur)
            if w <= 4 * s.recovery_window and sur >= need:
                medium_high = True
            if sur * s.threshold / need > best[0]:  # scores are relative to each window's threshold
                best = (sur * s.threshold / need, w, obs, exp)
            if sur >= need and obs >= s.min_count and obs >= s.min_ratio * exp:
                eligible = True
        surprise, window, w_obs, w_exp = best
        ratio = w_obs / w_exp if w_exp > 0 else float("inf")
        if bucket_surprise is None:  # no 1-bucket window configured
            bucket_surprise = -nb_log10_sf(value, mu, min(phi + model, s.dispersion_max))
        decision = Decision(ts, value, mu, min(surprise / (2 * s.threshold), 1.0), surprise,
                            window=window, window_observed=w_obs, window_expected=w_exp, ratio=ratio,
                            bucket_surprise=bucket_surprise)

        warm = self.n >= s.warmup_buckets or (prior_expected is not None and self.n >= 1)
        share_alert = self._share_test(decision, value, total)
        no_baseline = prior_expected is None and (not warm or (
            self.episode is not None and self.episode.reason == "no_baseline"))
        cold = no_baseline and self._cold_start_test(decision)

        if self.episode is not None:
            ep = self.episode
            ep.buckets += 1
            if eligible and ratio > ep.peak_ratio:
                ep.peak_ratio = ratio
            ep.peak_value = max(ep.peak_value, value)
            if eligible or share_alert:
                sev = self._severity(ratio, w_obs) if eligible else "sev3"
                if _SEV_RANK[sev] > _SEV_RANK[ep.severity]:
                    ep.severity = sev
                    decision.severity_raised = True
            # recovery looks at the recent buckets only: a long window's sum still remembers the spike
            # and the last hour or so no longer alarming (a slow burn is not "recovered" between blips)
            calm = (short_surprise < s.recovery_threshold and decision.share_surprise < s.recovery_threshold
                    and not medium_high)
            if ep.reason == "no_baseline" and cold:
                # the baseline warming up beside it learns the pile-on as normal; the share says it goes on
                calm = False
            ep.quiet = ep.quiet + 1 if calm else 0
            if ep.buckets >= s.max_episode_buckets and ep.quiet < s.recovery_buckets:
                # still "high" after this long: the new level is the new normal, not a lasting crisis
                recent = self.recent_obs[-min(len(self.recent_obs), 12):]
                if recent:
                    self.level = max(sum(recent) / len(recent) / max(expected_factor, 1e-6)
                                     / self._season_factor(ts), 0.0)
            if ep.quiet >= s.recovery_buckets or ep.buckets >= s.max_episode_buckets:
                decision.recovered = True
                decision.severity = ep.severity
                decision.reason = ep.reason
                self.episode = None
                self.cooldown_left = s.cooldown_buckets
            else:
                decision.in_episode = True
                decision.severity = ep.severity
                decision.reason = ep.reason
                decision.episode_start = ep.start
        elif ((warm and (eligible or share_alert)) or (cold and not warm)) and (
                self.cooldown_left <= 0 or (warm and eligible and self._severity(ratio, w_obs) == "sev1")):
            if warm:
                reason = "volume" if eligible else "share"
                sev = self._severity(ratio, w_obs) if eligible else "sev3"
            else:
                # no baseline to measure "how far above normal" by: the window's share says it, as sev2
                reason, sev = "no_baseline", "sev2"
                decision.window, decision.window_observed = decision.cold_window, decision.cold_negative
                # the baseline sum over the same buckets, as far back as recent_exp reaches
                decision.window_expected = sum(self.recent_exp[-decision.cold_window:])
                decision.ratio = (decision.window_observed / decision.window_expected
                                  if decision.window_expected > 0 else float("inf"))
            self.cooldown_left = 0
            self.episode = _Episode(start=ts, severity=sev, peak_ratio=ratio, peak_value=value, reason=reason)
            decision.new_alert = True
            decision.in_episode = True
            decision.episode_start = ts
            decision.severity = sev
            decision.reason = reason
        elif self.cooldown_left > 0:
            self.cooldown_left -= 1

        self._update_baseline(st, value, mu, expected_factor, factors)
        if total is not None and total > 0 and not decision.in_episode:
            # Both sums start at zero and get the same weights, so their ratio is the (exponentially
            # weighted) share from the first bucket on. Seeding them with the first bucket instead gave
            # that one bucket the weight of days of history at a 72 h half-life: a stream whose first
            # comment was negative reported "normally 65% negative" three days later. An episode's own
            # buckets are left out: a surge's volume would otherwise drag the usual share toward it.
            a = self._a_share
            self.share_neg = (1 - a) * self.share_neg + a * value
            self.share_total = (1 - a) * self.share_total + a * total
            self.share_seen += total
        self.n += 1
        self.last_ts = ts
        return decision

    def _model_uncertainty(self, prior_expected: float | None) -> float:
        """Extra relative variance of the baseline itself while the history is short."""
        s = self.settings
        if prior_expected is not None:
            return 0.5 / (self.n + 1.0)
        extra = 3.0 / (self.n + 3.0)
        # until a whole day has been seen, the daily profile is a guess: widen the band
        if self.n < self._buckets_per_day:
            extra += s.first_day_dispersion * (1.0 - self.n / self._buckets_per_day)
        return extra

    def _severity(self, ratio: float, observed: float) -> str:
        s = self.settings
        if ratio >= s.sev1_ratio and observed >= s.sev1_min_count:
            return "sev1"
        if ratio >= s.sev2_ratio:
            return "sev2"
        return "sev3"

    def _cold_start_test(self, decision: Decision) -> bool:
        """The no-baseline rule (see ``cold_start_window``) over the buckets whose totals are known."""
        s = self.settings
        w = min(len(self.recent_tot), len(self.recent_neg), s.cold_start_window)
        if w <= 0:
            return False
        negative = sum(self.recent_neg[-w:])
        total = sum(self.recent_tot[-w:])
        decision.cold_window, decision.cold_negative, decision.cold_total = w, negative, total
        return total > 0 and negative >= s.cold_start_min_negative and negative >= s.cold_start_min_share * total

    def _share_test(self, decision: Decision, negative: float, total: float | None) -> bool:
        s = self.settings
        if total is None or total <= 0:
            return False
        share = negative / total
        decision.share = share
        if self.share_total <= 0:
            return False
        base = self.share_neg / self.share_total
        decision.share_expected = base
        # the usual share is only trusted after enough comments have been seen
        if self.share_seen < s.share_warmup_total:
            return False
        sur = -binomial_log10_sf(negative, total, max(base, 0.01), s.share_design_effect)
        decision.share_surprise = sur
        return (sur >= s.share_threshold and share >= s.share_min and share >= s.share_min_ratio * base
                and negative >= s.min_count)

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot (settings are not included: they come from config)."""
        ep = None
        if self.episode is not None:
            ep = asdict(self.episode)
        return {
            "v": STATE_VERSION,
            "n": self.n,
            "last_ts": self.last_ts,
            "level": self.level,
            "season": _pack(self.season),
            "season_n": _pack(self.season_n),
            "week": _pack(self.week),
            "week_n": _pack(self.week_n),
            "phi": self.phi,
            "recent_obs": list(self.recent_obs),
            "recent_exp": list(self.recent_exp),
            "recent_tot": list(self.recent_tot),
            "recent_neg": list(self.recent_neg),
            "episode": ep,
            "cooldown_left": self.cooldown_left,
            "share_neg": self.share_neg,
            "share_total": self.share_total,
            "share_seen": self.share_seen,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any] | None, settings: DetectorSettings | None = None,
                   zone: tzinfo | None = None) -> SpikeDetector:
        """Rebuild a detector from :meth:`to_state`; ``None`` gives a fresh one. ``zone``: see ``zone``."""
        settings = settings or DetectorSettings()
        if not state:
            return cls(settings=settings, zone=zone)
        version = state.get("v")
        if version not in (1, STATE_VERSION):
            raise ValueError(f"unsupported detector state version {version!r}")
        # Version 1 seeded the usual-share sums with the stream's first bucket at full weight (see
        # observe): those sums are dropped and the share test warms up again on new comments.
        share_ok = version == STATE_VERSION
        season = _unpack(state["season"])
        season_n = _unpack(state["season_n"])
        week = _unpack(state.get("week", []))
        week_n = _unpack(state.get("week_n", []))
        if len(season) != settings.season_slots:  # profile resolution changed in config: start over
            season, season_n, week, week_n = [], [], [], []
        ep = state.get("episode")
        return cls(
            settings=settings,
            n=int(state["n"]),
            last_ts=state["last_ts"],
            level=state["level"],
            season=season,
            season_n=season_n,
            week=week,
            week_n=week_n,
            phi=float(state["phi"]),
            recent_obs=[float(x) for x in state["recent_obs"]],
            recent_exp=[float(x) for x in state["recent_exp"]],
            recent_tot=[float(x) for x in state.get("recent_tot", [])],
            recent_neg=[float(x) for x in state.get("recent_neg", [])],
            episode=_Episode(**ep) if ep else None,
            cooldown_left=int(state["cooldown_left"]),
            share_neg=float(state["share_neg"]) if share_ok else 0.0,
            share_total=float(state["share_total"]) if share_ok else 0.0,
            share_seen=float(state.get("share_seen", 0.0)) if share_ok else 0.0,
            zone=zone,
        )


def _doubles(values: Sequence[float]) -> array:
    return values if isinstance(values, array) and values.typecode == "d" else array("d", map(float, values))


def _pack(values: Sequence[float]) -> str:
    """Exact and compact: little-endian doubles, base64 (the state is read and written every bucket)."""
    data = _doubles(values)
    if sys.byteorder != "little":  # pragma: no cover - big-endian hosts
        data = array("d", data)
        data.byteswap()
    return base64.b64encode(data.tobytes()).decode("ascii")


def _unpack(value: str | list[float]) -> array:
    if isinstance(value, list):  # plain lists are accepted too (hand-written or older states)
        return array("d", map(float, value))
    data = array("d")
    data.frombytes(base64.b64decode(value))
    if sys.byteorder != "little":  # pragma: no cover
        data.byteswap()
    return data


_SEV_RANK = {"sev3": 1, "sev2": 2, "sev1": 3}


def severity_rank(severity: str | None) -> int:
    """sev1 > sev2 > sev3 > none."""
    return _SEV_RANK.get(severity or "", 0)
