"""A stream that starts in the middle of a pile-on (the bot installed during a crisis, a webhook switched
on that morning) had no baseline for its first 36 buckets and then learned the pile-on as its normal: it
never alerted. While it warms up, the no-baseline rule alerts on the negative share of the last hour."""

from __future__ import annotations

import pytest

from bot.alerts.detector import DetectorSettings, SpikeDetector

from .streams import stamps


def feed(det, negatives, totals, prior=None):
    out = []
    for ts, neg, tot in zip(stamps(len(negatives)), negatives, totals, strict=True):
        out.append(det.observe(ts, float(neg), total=None if tot is None else float(tot), prior_expected=prior))
    return out


def onsets(decisions):
    return [i for i, d in enumerate(decisions) if d.new_alert]


def test_a_stream_that_starts_in_a_pile_on_alerts_within_the_hour_without_a_baseline():
    decisions = feed(SpikeDetector(), [7] * 60, [10] * 60)  # 70% negative from the first bucket on
    assert onsets(decisions) == [4]  # 5 buckets: 35 negative of 50
    first = decisions[4]
    assert first.reason == "no_baseline" and first.severity == "sev2"
    assert first.window == 5 and first.window_observed == 35


def test_the_pile_on_is_not_taken_for_recovered_while_the_baseline_learns_it():
    decisions = feed(SpikeDetector(), [7] * 60 + [1] * 40, [10] * 100)
    assert onsets(decisions) == [4]
    recovered = [i for i, d in enumerate(decisions) if d.recovered]
    # over while the share stays at 70% (the baseline beside it has learned 7 as normal by then)? no:
    # it recovers only once the share has dropped and stayed down
    assert len(recovered) == 1 and recovered[0] >= 60 + 12


def test_ordinary_comment_sections_do_not_alert_while_warming_up():
    # 25% negative, 40 comments a bucket: 120 negatives an hour, never 60% of them
    assert onsets(feed(SpikeDetector(), [10] * 36, [40] * 36)) == []
    # 70% negative but a trickle (2 of 3 a bucket): under 30 negatives in the hour
    assert onsets(feed(SpikeDetector(), [2] * 12, [3] * 12)) == []


def test_without_the_share_the_warm_up_is_unchanged():
    # `crisisbot backtest` and the no-sentiment mode feed counts without totals: no alert during warm-up
    assert onsets(feed(SpikeDetector(), [7] * 36, [None] * 36)) == []


def test_content_with_the_accounts_usual_curve_is_judged_on_it_not_on_the_share():
    # a new video of a known account has a prior (the account's curve): the no-baseline rule stays out
    decisions = feed(SpikeDetector(), [7] * 12, [10] * 12, prior=7.0)
    assert all(d.reason != "no_baseline" for d in decisions)
    assert onsets(decisions) == []


def test_a_warmed_stream_never_uses_the_rule():
    det = SpikeDetector()
    feed(det, [1] * 40, [10] * 40)  # warmed up on 10% negative
    later = feed(det, [3] * 12, [4] * 12)  # 75% negative, 36 negatives: but a baseline exists now
    assert all(d.reason != "no_baseline" for d in later)


def test_the_rule_can_be_turned_off():
    settings = DetectorSettings(cold_start_window=0)
    assert onsets(feed(SpikeDetector(settings=settings), [7] * 36, [10] * 36)) == []


@pytest.mark.parametrize("split", [2, 4])
def test_a_restart_keeps_the_hours_totals(split):
    # the state saved every bucket carries the window's totals: a restart mid-hour alerts at the same bucket
    det = SpikeDetector()
    feed(det, [7] * split, [10] * split)
    state = det.to_state()
    assert state["recent_tot"] == [10.0] * split and state["recent_neg"] == [7.0] * split
    resumed = SpikeDetector.from_state(state, DetectorSettings())
    rest = [d for d in (resumed.observe(ts, 7.0, total=10.0) for ts in stamps(12)[split:])]
    assert [i + split for i, d in enumerate(rest) if d.new_alert] == [4]


def test_an_older_state_without_totals_loads():
    state = SpikeDetector().to_state()
    del state["recent_tot"]
    assert SpikeDetector.from_state(state, DetectorSettings()).recent_tot == []


@pytest.mark.parametrize("settings", [DetectorSettings(windows=(1, 3, 6), window_thresholds=(12.0, 12.0, 5.5)),
                                      DetectorSettings(cold_start_window=24)])
def test_the_rule_reads_its_own_window_whatever_the_detector_windows(settings):
    # the negatives were read from the detector's windows (max 12 buckets, or 6 here) against totals of
    # cold_start_window buckets: 80% negative read as 40%, and the rule never fired
    decisions = feed(SpikeDetector(settings=settings), [1] * 12 + [8] * 24, [10] * 36)
    assert [d.reason for d in decisions if d.new_alert] == ["no_baseline"]
