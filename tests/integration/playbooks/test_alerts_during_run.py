"""Spike alerts of the run's account that fire while the run is active land on its timeline and review."""

from __future__ import annotations

from datetime import timedelta

from bot.alerts.models import AlertEpisode
from tests.integration.playbooks.helpers import CrisisDriver


def _episode(db, key: str, account_id: str, detected_at, **stats) -> None:
    with db.session() as session:
        session.add(AlertEpisode(
            episode_key=key, platform="douyin", account_id=account_id, severity="sev2", started_at=detected_at,
            detected_at=detected_at, updated_at=detected_at, last_notified_at=detected_at, stats=stats, channels={},
            history=[],
        ))


def test_alerts_fired_during_the_run_are_linked_once(bot, db, clock):
    d = CrisisDriver(bot)
    _episode(db, "before@1", "lanji_official", clock.now() - timedelta(hours=1))
    d.run("/crisis start 负面舆情爆发 面霜过敏 --account douyin:lanji_official")
    clock.advance(timedelta(minutes=20))
    _episode(db, "again@2", "lanji_official", clock.now(), share=0.42)
    _episode(db, "merged@3", "lanji_official", clock.now(), merged_into="again@2")
    _episode(db, "other@4", "someone_else", clock.now())
    assert d.service.tick()["alerts_linked"] == 1
    assert d.service.tick()["alerts_linked"] == 0  # linked once
    timeline = d.text("/crisis timeline")
    # the kind is said once and the alert named as people know it (its key stays in the stored text)
    assert "crisisbot 关联告警：澜肌官方旗舰店（抖音） · 2026-11-22 20:20 起：二级·严重，负面占比 42%" in timeline
    assert "关联告警：关联告警" not in timeline and "sev2" not in timeline
    assert "again@2" not in timeline and "before@1" not in timeline and "merged@3" not in timeline and "other@4" not in timeline
    report = d.service.build_report(1).markdown
    # named from the alert's row as people know it; the key is for machines (the timeline text)
    assert "Linked alerts：\n  - 澜肌官方旗舰店（抖音） · 二级·严重 · 2026-11-22 20:20 起" in report

