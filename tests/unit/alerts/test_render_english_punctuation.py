"""An English channel's alert lists its keywords with English punctuation: they were joined with the
Chinese full-width comma ("过敏 ×18 (day before: 0)，假货 ×12 …") while the rest of the line is English."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.alerts.render import alert_message
from tests.unit.alerts.test_settings_render import episode


def _keywords_line(lang: str) -> str:
    ep = episode()
    ep["stats"] = {**ep["stats"], "keywords": [{"term": "过敏", "count": 21, "baseline_count": 1},
                                               {"term": "假货", "count": 12, "baseline_count": 0}]}
    message = alert_message(ep, lang=lang, zone=ZoneInfo("Asia/Shanghai"))
    return next(s.text for s in message.sections if "过敏" in s.text)


def test_english_keywords_are_joined_with_an_english_comma():
    line = _keywords_line("en")
    assert "，" not in line
    assert "过敏 ×21 (day before: 1), 假货 ×12 (day before: 0)" in line


def test_chinese_keywords_keep_the_full_width_comma():
    assert "过敏 ×21（前一天 1），假货 ×12（前一天 0）" in _keywords_line("zh")
