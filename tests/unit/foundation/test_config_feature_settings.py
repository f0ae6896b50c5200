"""Feature settings that `config check` accepted although they could not work (found by an acceptance
probe): quiet hours at 25:00, a negative detector threshold, an escalation rota of bare names. Also:
every problem of every section in one run, and each message Chinese first without Python class names."""

from __future__ import annotations

import dataclasses

import pytest

from bot.alerts.detector import KNOB_BOUNDS, DetectorSettings
from bot.alerts.settings import AlertsConfig
from bot.config import ConfigError, load_config, parse_config
from bot.reports.settings import check_cron

SURGE = {"account": "douyin:a", "from": "2026-11-11T20:00:00+08:00", "until": "2026-11-12T20:00:00+08:00"}


def problems_of(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="c.yaml")
    return info.value.problems


# ---- quiet hours -----------------------------------------------------------------------------------
@pytest.mark.parametrize("start, end", [("25:00", "08:00"), ("23:00", "99:99"), ("7:00", "08:00"), ("23:60", "08:00")])
def test_quiet_hours_must_be_clock_times(start, end):
    problems = problems_of({"channels": [{"id": "console:a", "quiet_hours": {"start": start, "end": end}}]})
    assert len(problems) == 1
    assert "应为 00:00 到 23:59 之间的 HH:MM / must be a time HH:MM from 00:00 to 23:59" in problems[0]
    assert problems[0].startswith("c.yaml: channels[0].quiet_hours.")


def test_quiet_hours_across_midnight_and_the_day_edges_are_fine():
    cfg = parse_config({"channels": [{"id": "console:a", "quiet_hours": {"start": "23:59", "end": "00:00"}}]},
                       source="c.yaml")
    assert cfg.channels[0].quiet_hours.start == "23:59"


def test_quiet_hours_that_are_not_a_mapping_name_the_shape_not_a_class():
    [problem] = problems_of({"channels": [{"id": "console:a", "quiet_hours": "22-07"}]})
    assert problem == ("c.yaml: channels[0].quiet_hours: 应为 {start: HH:MM, end: HH:MM} / must be a mapping with "
                       "start and end, e.g. {start: '23:00', end: '08:00'}")


def test_a_section_of_the_wrong_shape_does_not_name_the_python_class():
    [problem] = problems_of({"retention": ["90"]})
    assert problem == "c.yaml: retention: 应为映射（键: 值）/ must be a mapping of keys to values"


# ---- detector settings -----------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "value", "expected"), [
    ("threshold", -1, "数值太小，应大于 0"),
    ("threshold", float("inf"), "应为有限的数"),
    ("min_count", -3, "数值太小，应不小于 0"),
    ("min_ratio", 0.5, "数值太小，应不小于 1"),
    ("cooldown_buckets", -1, "数值太小，应不小于 0"),
    ("recovery_window", 0, "数值太小，应不小于 1"),
    ("cold_start_min_share", 0, "数值太小，应大于 0"),
    ("cold_start_min_share", 1.5, "数值太大，应不大于 1"),
    ("level_halflife_hours", 0, "数值太小，应大于 0"),
])
def test_detector_knobs_out_of_range_are_refused_with_their_path(key, value, expected):
    [problem] = problems_of({"alerts": {"detector": {key: value}}})
    assert problem.startswith(f"c.yaml: alerts.detector.{key}: {expected}"), problem


def test_detector_windows_must_be_positive_and_match_their_thresholds():
    problems = problems_of({"alerts": {"detector": {"windows": [1, 0]}}})
    assert any(p.startswith("c.yaml: alerts.detector.windows[1]: 数值太小，应不小于 1") for p in problems), problems
    # the default window_thresholds has three entries: two windows need their own
    assert any(p.startswith("c.yaml: alerts.detector.window_thresholds: 每个窗口需要一个阈值") for p in problems), problems


def test_an_unknown_detector_key_suggests_the_closest_name():
    [problem] = problems_of({"alerts": {"detector": {"min_cout": 3}}})
    assert problem.startswith("c.yaml: alerts.detector.min_cout: 未知的检测器设置 / unknown detector settings")
    assert "did you mean min_count?" in problem


def test_valid_detector_overrides_stay_a_plain_mapping_for_the_detector():
    cfg = AlertsConfig.model_validate({"detector": {"min_count": 10, "windows": [1, 3, 6], "weekly": False}})
    assert cfg.detector == {"min_count": 10.0, "windows": [1, 3, 6], "weekly": False}
    assert DetectorSettings.from_dict(cfg.detector).windows == (1, 3, 6)


def test_the_detector_itself_refuses_out_of_range_knobs_all_at_once():
    with pytest.raises(ValueError) as info:
        DetectorSettings(threshold=-1, min_ratio=0.5, cold_start_min_share=0.0)
    for name in ("threshold", "min_ratio", "cold_start_min_share"):
        assert name in str(info.value)
    DetectorSettings(cold_start_window=0, warmup_buckets=0)  # 0 turns these off


def test_every_numeric_detector_knob_has_a_range():
    numeric = {f.name for f in dataclasses.fields(DetectorSettings) if f.type != "bool"}
    assert numeric == set(KNOB_BOUNDS)


# ---- escalation rota -------------------------------------------------------------------------------
def test_the_escalation_rota_needs_platform_user_ids():
    problems = problems_of({"alerts": {"escalation": {"rota": ["slack:U0123", "bob", "irc:alice"]}}})
    assert problems == [
        "c.yaml: alerts.escalation.rota[1]: 应写成 平台:用户ID / must look like 'platform:user_id', e.g. 'slack:U0123ABCD'",
        "c.yaml: alerts.escalation.rota[2]: 未知的聊天平台 / chat platform 'irc' is not one of console, slack, feishu",
    ]
    cfg = parse_config({"alerts": {"escalation": {"rota": ["slack:U0123", "console:oncall1"]}}}, source="c.yaml")
    assert cfg.alerts.escalation.rota == ["slack:U0123", "console:oncall1"]


# ---- every problem in one run ----------------------------------------------------------------------
def test_every_section_reports_its_problems_in_the_same_run():
    problems = problems_of({
        "channels": [{"id": "console:a", "quiet_hours": {"start": "25:00", "end": "08:00"}}],
        "alerts": {
            "detector": {"threshold": -1},
            # a bad factor used to hide the backwards until (a model validator runs only on valid fields)
            "surges": [{**SURGE, "until": "2026-11-10T20:00:00+08:00", "factor": 0.5}],
            "escalation": {"rota": ["bob"]},
        },
        "reports": {"schedules": [{"id": "daily", "channel": "console:nowhere", "cron": "0 9 * *"}]},
    })
    paths = [p.split(": ")[1] for p in problems]
    assert set(paths) == {
        "channels[0].quiet_hours.start", "alerts.detector.threshold", "alerts.surges[0].until",
        "alerts.surges[0].factor", "alerts.escalation.rota[0]", "reports.schedules[0].cron",
        "reports.schedules[0].channel",
    }, problems


def test_surge_times_are_checked_chinese_first():
    [problem] = problems_of({"alerts": {"surges": [{**SURGE, "until": "2026-11-10T20:00:00+08:00"}]}})
    assert problem == "c.yaml: alerts.surges[0].until: until 必须晚于 from / until must be after from"
    problems = problems_of({"alerts": {"surges": [{**SURGE, "from": "2026-11-11T20:00:00"}]}})
    assert problems == ["c.yaml: alerts.surges[0].from: from/until 需要写明时区，例如 2026-11-11T20:00:00+08:00 / "
                        "from/until need a time zone, e.g. 2026-11-11T20:00:00+08:00"]


# ---- messages ---------------------------------------------------------------------------------------
def test_an_unknown_key_suggests_the_closest_known_one():
    problems = problems_of({"alerts": {"escalation": {"rota_rol": "oncall"}}, "chanels": []})
    assert "c.yaml: alerts.escalation.rota_rol: 未知的键（是不是 rota_role？）/ unknown key (did you mean rota_role?)" in problems
    assert "c.yaml: chanels: 未知的键（是不是 channels？）/ unknown key (did you mean channels?)" in problems


@pytest.mark.parametrize(("cron", "lead"), [
    ("0 9 * *", "应有 5 个字段：分 时 日 月 星期"),
    ("61 9 * * 1", "不是有效的 crontab 表达式"),
])
def test_a_bad_cron_is_explained_chinese_first(cron, lead):
    with pytest.raises(ValueError) as info:
        check_cron(cron)
    assert str(info.value).startswith(lead), info.value


def test_file_level_problems_are_chinese_first(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n", encoding="utf-8")
    missing = tmp_path / "missing.yaml"
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n", encoding="utf-8")
    expected = {
        bad: f"{bad}: 第 2 行第 1 列 / line 2, column 1: YAML 格式错误 / invalid YAML: did not find expected node content",
        missing: f"{missing}: (file): 文件不存在 / not found",
        listed: f"{listed}: (top level): 顶层应为映射（键: 值）/ must be a mapping of keys to values",
    }
    for path, message in expected.items():
        with pytest.raises(ConfigError) as info:
            load_config(path)
        assert info.value.problems == [message]
