"""The detector's "same time of day" follows the zone's standard time (audit 12).

The daily and weekly slots were read in UTC (``ts % 86400``): a rhythm kept in local time in a zone with
daylight saving time (the evening peak at 20:30 in Berlin) moved one hourly slot when the clocks changed,
and the week after it paged every evening. The slots are now read at ``ts`` plus the zone's DST shift; for
zones without DST (Asia/Shanghai, the main target, and UTC) that shift is 0 and every output and stored
state is exactly what it was: the fingerprints below were computed once with the detector before the change.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from bot.alerts.detector import SpikeDetector, dst_seconds
from tests.unit.alerts.streams import BUCKET, burst, daily_shape, negbin

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _evening(hour: float) -> float:
    """A strong evening peak and a smaller midday one, by local hour of day."""
    return 1.5 + 25 * math.exp(-((hour - 20.5) ** 2) / (2 * 1.2 ** 2)) + 6 * math.exp(-((hour - 12.5) ** 2) / 8)


def _berlin_local_rhythm(start: datetime, days: int, seed: int) -> list[tuple[datetime, float]]:
    """Steady Poisson counts whose daily rhythm is kept in Berlin local time (it moves by an hour in UTC
    when the clocks change)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(days * 288):
        t = start + BUCKET * i
        local = t.astimezone(BERLIN)
        rows.append((t, float(rng.poisson(_evening(local.hour + local.minute / 60)))))
    return rows


@pytest.mark.parametrize("start, change", [
    (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 29, 1, tzinfo=UTC)),    # clocks forward
    (datetime(2026, 9, 27, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)),  # clocks back
])
def test_a_local_rhythm_across_a_change_of_the_clocks_does_not_alert_with_the_zone(start, change):
    rows = _berlin_local_rhythm(start, 42, seed=0)
    with_zone, without = SpikeDetector(zone=BERLIN), SpikeDetector()
    alerts_with = [t for t, v in rows if with_zone.observe(t, v).new_alert]
    alerts_without = [t for t, v in rows if without.observe(t, v).new_alert]
    assert alerts_with == []
    # the UTC profile (no zone, as before) pages on the evenings after the change: the test can fail
    assert len(alerts_without) >= 2, alerts_without
    assert all(change < t < change + timedelta(days=8) for t in alerts_without), alerts_without


def test_the_zone_is_not_stored_and_a_stored_state_loads_with_any_zone():
    rows = _berlin_local_rhythm(datetime(2026, 3, 1, tzinfo=UTC), 35, seed=1)
    det = SpikeDetector(zone=BERLIN)
    for t, v in rows[:-288]:
        det.observe(t, v)
    state = det.to_state()
    assert "zone" not in state and json.loads(json.dumps(state)) == state
    # rebuilt with its zone it goes on exactly as the detector that never stopped
    again = SpikeDetector.from_state(json.loads(json.dumps(state)), zone=BERLIN)
    assert again.zone is BERLIN
    for t, v in rows[-288:]:
        assert again.observe(t, v) == det.observe(t, v)
    assert again.to_state() == det.to_state()
    assert SpikeDetector.from_state(None, zone=BERLIN).zone is BERLIN


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Europe/Dublin", "America/St_Johns", "Australia/Lord_Howe",
                                  "America/New_York", "Asia/Shanghai", "UTC"])
def test_the_cached_shift_is_the_zone_s_shift_at_every_moment(zone):
    """Looked up once per clock hour: also right in hours with a change of the clocks inside them (St John's
    changes at :30 UTC, Lord Howe by half an hour, Dublin's winter shift is negative), and in any order."""
    tz = ZoneInfo(zone)
    det = SpikeDetector(zone=tz)
    moments = []
    for year_day in (datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 3, 27, tzinfo=UTC),
                     datetime(2026, 10, 3, tzinfo=UTC), datetime(2026, 10, 24, tzinfo=UTC),
                     datetime(2026, 11, 1, tzinfo=UTC)):
        base = year_day.timestamp()
        moments += [base + 60.0 * k for k in range(3 * 24 * 60)]  # every minute of three days
    shuffled = moments[:]
    random.Random(5).shuffle(shuffled)
    for ts in moments + shuffled + [m + 0.5 for m in moments[::7]]:
        assert det._slot_time(ts) == ts + dst_seconds(ts, tz), (zone, datetime.fromtimestamp(ts, UTC))


# ---------------------------------------------------------------- zones without DST: nothing changes

START = datetime(2026, 3, 2, tzinfo=UTC)  # four weeks, with Europe's change of the clocks (03-29) inside
N = 28 * 288


def _shanghai_streams():
    """(name, rows): rows of (timestamp, value, total, expected_factor, prior_expected)."""
    out = []
    stamps = [START + BUCKET * i for i in range(N)]
    # an evening rhythm (21:00 in Shanghai) with growth, two incidents and an hour of mostly negative comments
    shape = np.roll(daily_shape(N, 0.9), -8 * 12)
    mu = 6.0 * shape * np.linspace(1.0, 1.6, N) * burst(N, 9 * 288 + 150, 7.0, 30) * burst(N, 20 * 288 + 40, 3.5, 60)
    neg = negbin(mu, 0.15, seed=11)
    total = neg + negbin(30.0 * shape, 0.1, seed=12)
    total[16 * 288 + 100:16 * 288 + 112] = neg[16 * 288 + 100:16 * 288 + 112] + 5
    neg[16 * 288 + 100:16 * 288 + 112] += 20
    out.append(("evening", [(t, float(v), float(tt), 1.0, None) for t, v, tt in zip(stamps, neg, total, strict=True)]))
    # a planned surge (factor 3 for half a day) with a spike inside it; no share
    mu2 = 2.5 * daily_shape(N, 0.6) * burst(N, 12 * 288, 3.0, 144) * burst(N, 12 * 288 + 60, 12.0, 12)
    vals2 = negbin(mu2, 0.3, seed=13)
    out.append(("surge", [(t, float(v), None, 3.0 if 12 * 288 <= i < 12 * 288 + 144 else 1.0, None)
                          for i, (t, v) in enumerate(zip(stamps, vals2, strict=True))]))
    # new content with a prior curve, a gap and an out-of-order row
    vals3 = negbin(4.0 * daily_shape(N // 4, 0.8) * burst(N // 4, 200, 8.0, 24), 0.2, seed=14)
    rows3 = [(START + BUCKET * i, float(v), None, 1.0, 4.0 if i < 72 else None)
             for i, v in enumerate(vals3) if not 500 <= i < 540]
    rows3.insert(800, (START + BUCKET * 700, 50.0, None, 1.0, None))
    out.append(("new_content", rows3))
    return out


def _fingerprint(det: SpikeDetector, rows):
    """New alerts as (row, severity, reason), and a sha256 of every decision and of the final state."""
    alerts, digest = [], hashlib.sha256()
    for i, (t, v, total, factor, prior) in enumerate(rows):
        d = det.observe(t, v, total=total, expected_factor=factor, prior_expected=prior)
        digest.update(repr((d.expected, d.score, d.surprise, d.share_expected, d.in_episode, d.severity,
                            d.recovered)).encode())
        if d.new_alert:
            alerts.append((i, d.severity, d.reason))
    digest.update(json.dumps(det.to_state(), sort_keys=True).encode())
    return alerts, digest.hexdigest()


#: computed once with the detector as it was before zones were taken into account (no zone at all)
BEFORE = {
    "evening": ([(2446, "sev3", "share"), (2744, "sev3", "volume"), (4708, "sev3", "share"),
                 (5073, "sev3", "share"), (5800, "sev1", "volume"), (6370, "sev3", "share")],
                "1b745996bd2e2ef2f48dd0190df1ac46724dd940b7fffdd0403d14415543167f"),
    "surge": ([(3517, "sev1", "volume")], "8be09d04c29790e204f5a31a97f632b3755c5f8900c41a5f85054dc51f105662"),
    "new_content": ([], "1ea0937c483c363819e3f8f7dff8a0b2dec87ee800b6c5b387094c835421dd8d"),
}


@pytest.mark.parametrize("zone", [SHANGHAI, ZoneInfo("UTC"), UTC, None], ids=["Asia/Shanghai", "UTC", "fixed-UTC", "none"])
def test_zones_without_dst_give_exactly_the_decisions_and_state_of_before(zone):
    streams = _shanghai_streams()
    assert [name for name, _ in streams] == list(BEFORE)
    for name, rows in streams:
        assert _fingerprint(SpikeDetector(zone=zone), rows) == BEFORE[name], name


def test_the_fingerprint_sees_a_zone_with_dst():
    """The fingerprint is not blind: the same streams read in Berlin's standard time differ after 03-29."""
    name, rows = _shanghai_streams()[0]
    assert _fingerprint(SpikeDetector(zone=BERLIN), rows)[1] != BEFORE[name][1]
