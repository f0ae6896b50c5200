"""The detector on synthetic streams with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.alerts.detector import DetectorSettings, SpikeDetector, nb_log10_sf

from .streams import PER_DAY, burst, daily_shape, growth, negbin, ramp, stamps


def run(values, *, detector=None, total=None, factors=None, prior=None):
    det = detector or SpikeDetector()
    out = []
    for i, (ts, v) in enumerate(zip(stamps(len(values)), values, strict=True)):
        out.append(det.observe(ts, float(v),
                               total=None if total is None else float(total[i]),
                               expected_factor=1.0 if factors is None else float(factors[i]),
                               prior_expected=None if prior is None else float(prior[i])))
    return out


def onsets(decisions):
    return [i for i, d in enumerate(decisions) if d.new_alert]


def test_nb_tail_is_count_aware():
    # 3 comments where 0.2 are usual is rare for Poisson but the min count keeps it quiet (tested below);
    # the tail itself must be monotone in the observation and shrink with dispersion
    assert nb_log10_sf(3, 0.2, 0.0) < -2.5
    assert nb_log10_sf(30, 10, 0.0) < nb_log10_sf(25, 10, 0.0) < 0
    assert nb_log10_sf(30, 10, 0.5) > nb_log10_sf(30, 10, 0.0)
    assert nb_log10_sf(5, 10, 0.1) == 0.0


def test_steady_stream_stays_quiet():
    values = negbin(np.full(6 * PER_DAY, 20.0), 0.05, seed=1)
    assert onsets(run(values)) == []


def test_diurnal_stream_stays_quiet():
    n = 8 * PER_DAY
    values = negbin(60.0 * daily_shape(n, 0.9), 0.1, seed=2)
    assert len(onsets(run(values))) <= 1


def test_growth_is_absorbed():
    n = 10 * PER_DAY
    values = negbin(10.0 * daily_shape(n, 0.7) * growth(n, 5.0), 0.1, seed=3)
    assert len(onsets(run(values))) <= 1


def test_sudden_burst_alerts_at_once_with_high_severity():
    n = 5 * PER_DAY
    at = 4 * PER_DAY + 100
    values = negbin(15.0 * daily_shape(n, 0.6) * burst(n, at, 10.0, 36), 0.1, seed=4)
    decisions = run(values)
    found = onsets(decisions)
    assert found and at <= found[0] <= at + 1
    assert found == [found[0]]  # one alert per episode
    assert decisions[found[0]].severity in ("sev1", "sev2")
    assert decisions[found[0]].reason == "volume"


def test_episode_recovers_and_reports_it():
    n = 6 * PER_DAY
    at = 4 * PER_DAY
    values = negbin(15.0 * burst(n, at, 10.0, 24), 0.05, seed=5)
    decisions = run(values)
    start = onsets(decisions)[0]
    recovered = [i for i, d in enumerate(decisions) if d.recovered]
    assert recovered and start < recovered[0] < start + 24 + 3 * DetectorSettings().recovery_buckets


def test_slow_ramp_is_caught_before_it_peaks():
    n = 6 * PER_DAY
    at = 4 * PER_DAY
    values = negbin(30.0 * daily_shape(n, 0.5) * ramp(n, at, 4.0, 72), 0.08, seed=6)
    found = onsets(run(values))
    assert found and at < found[0] < at + 72


def test_tiny_account_few_comments_do_not_page_but_a_pile_on_does():
    n = 5 * PER_DAY
    base = negbin(np.full(n, 0.2), 0.0, seed=7)
    quiet = base.copy()
    quiet[4 * PER_DAY] = 3  # three negative comments in five minutes
    assert onsets(run(quiet)) == []
    pile_on = base.copy()
    pile_on[4 * PER_DAY:4 * PER_DAY + 3] = [12, 15, 20]
    found = onsets(run(pile_on))
    assert found and 4 * PER_DAY <= found[0] <= 4 * PER_DAY + 2


def test_new_video_uses_the_prior_curve():
    # no history at all; the account's usual curve for posts of this age says ~8 then decaying
    n = 120
    age = np.arange(n) + 1.0
    prior = 8.0 * age ** -0.5
    normal = negbin(prior, 0.1, seed=8)
    assert onsets(run(normal, prior=prior)) == []
    bad = normal.copy()
    bad[20:30] = prior[20:30] * 8 + 10
    found = onsets(run(bad, prior=prior))
    assert found and 20 <= found[0] <= 22


def test_planned_surge_raises_the_baseline_but_a_share_jump_still_alerts():
    n = 5 * PER_DAY
    surge = np.ones(n)
    a, b = 4 * PER_DAY, 4 * PER_DAY + 48
    surge[a:b] = 4.0
    total = negbin(200.0 * surge, 0.05, seed=9)
    negative = np.round(total * 0.08)
    # undeclared, the volume jump alerts; declared, it does not
    assert onsets(run(negative, total=total))
    assert onsets(run(negative, total=total, factors=surge)) == []
    # declared surge, but the negative share jumps from 8% to 40%: still alerts, on the share
    bad = negative.copy()
    bad[a + 20:b] = np.round(total[a + 20:b] * 0.4)
    decisions = run(bad, total=total, factors=surge)
    found = onsets(decisions)
    assert found and a + 20 <= found[0] <= a + 22
    assert decisions[found[0]].reason in ("share", "volume")


def test_usual_share_is_the_streams_share_not_its_first_bucket_and_ignores_the_surge():
    # the demo's account: first bucket 1 comment, negative; then three days at ~15% negative
    n = 3 * PER_DAY
    total = negbin(np.full(n, 3.0), 0.05, seed=4)
    total[0] = 1
    negative = np.round(total * 0.15)
    negative[0] = 1
    usual = negative[1:].sum() / total[1:].sum()  # ~12% after rounding small counts
    decisions = run(negative, total=total)
    assert decisions[-1].share_expected == pytest.approx(usual, abs=0.02)
    # a surge of mostly negative comments: the usual share shown in the alert stays the usual one
    surge_total = np.concatenate([total, np.full(24, 60.0)])
    surge_negative = np.concatenate([negative, np.full(24, 51.0)])
    decisions = run(surge_negative, total=surge_total)
    assert onsets(decisions) and onsets(decisions)[0] >= n
    assert decisions[-1].share_expected == pytest.approx(usual, abs=0.02)


def test_state_round_trip_through_json_changes_nothing():
    n = 5 * PER_DAY
    values = negbin(20.0 * daily_shape(n) * burst(n, 4 * PER_DAY, 6.0, 36), 0.1, seed=10)
    whole = run(values)
    cut = 4 * PER_DAY + 10  # mid-episode
    first = SpikeDetector()
    part1 = run(values[:cut], detector=first)
    restored = SpikeDetector.from_state(json.loads(json.dumps(first.to_state())))
    ts = stamps(n)
    part2 = [restored.observe(ts[i], float(values[i])) for i in range(cut, n)]
    assert [(d.new_alert, d.recovered, round(d.score, 9)) for d in part1 + part2] == \
        [(d.new_alert, d.recovered, round(d.score, 9)) for d in whole]


def test_a_version_1_state_keeps_its_baseline_but_drops_the_seeded_share_sums():
    det = SpikeDetector()
    run(np.full(PER_DAY, 4.0), detector=det, total=np.full(PER_DAY, 10.0))
    old = {**det.to_state(), "v": 1, "share_neg": 1.0, "share_total": 1.0}
    restored = SpikeDetector.from_state(json.loads(json.dumps(old)))
    assert restored.level == det.level and restored.n == det.n
    assert (restored.share_neg, restored.share_total, restored.share_seen) == (0.0, 0.0, 0.0)
    assert restored.to_state()["v"] == 2
    with pytest.raises(ValueError, match="version"):
        SpikeDetector.from_state({**old, "v": 99})


def test_bad_inputs_are_refused():
    det = SpikeDetector()
    with pytest.raises(ValueError):
        det.observe(0.0, -1.0)
    with pytest.raises(ValueError):
        det.observe(0.0, float("nan"))
    with pytest.raises(ValueError):
        DetectorSettings(windows=(1, 3), window_thresholds=(5.0,))
    with pytest.raises(ValueError):
        SpikeDetector.from_state({"v": 999})
    with pytest.raises(ValueError):
        DetectorSettings.from_dict({"no_such_knob": 1})


def test_a_short_blip_stays_quiet_but_the_same_size_sustained_alerts_within_the_hour():
    # a post goes mildly viral for 15 minutes (3x): ordinary life, not a crisis; the same 3x lasting is
    n = 5 * PER_DAY
    at = 4 * PER_DAY + 60
    mu = 20.0 * daily_shape(n, 0.6)
    blip = mu.copy()
    blip[at:at + 3] *= 3.0
    assert onsets(run(negbin(blip, 0.1, seed=12))) == []
    sustained = mu.copy()
    sustained[at:at + 48] *= 3.0
    found = onsets(run(negbin(sustained, 0.1, seed=12)))
    assert found and at <= found[0] < at + 12


def test_aftershocks_within_the_cooldown_do_not_page_again():
    n = 6 * PER_DAY
    first, second = 4 * PER_DAY, 4 * PER_DAY + 120  # a second, similar wave ~6 h after the first ended
    mu = 15.0 * burst(n, first, 3.5, 36) * burst(n, second, 3.5, 36)
    decisions = run(negbin(mu, 0.05, seed=13))
    assert len(onsets(decisions)) == 1
    assert any(d.recovered for d in decisions[first:second])
