"""docs/alerts.md shows `alerts.detector` overrides as examples: every knob in them must change where the
detector alerts. The example was `{min_count: 10, threshold: 7}`, and neither did anything: `threshold` is
only used when `window_thresholds` is emptied (the defaults set it), and no window of fewer than 10 counts
passes the default thresholds, so `min_count: 10` never binds. A user copying it tuned nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.alerts.backtest import SeriesRow, run_backtest
from bot.alerts.detector import DetectorSettings
from bot.alerts.settings import AlertsConfig

from .streams import PER_DAY, START, burst, daily_shape, negbin

DOC = Path(__file__).resolve().parents[3] / "docs" / "alerts.md"
#: the example in the yaml block's comment ("detector: {}  # ... 例如 {...}") and the English text's
EXAMPLE = re.compile(r"(?:detector: \{\}[ \t]+#[^\n]*?例如 |alerts\.detector: )(\{[^}\n]*\})")


def _examples() -> list[str]:
    return EXAMPLE.findall(DOC.read_text(encoding="utf-8"))


def _alert_rows(values, settings: DetectorSettings) -> list[int]:
    rows = [SeriesRow(i + 2, "", "", START + timedelta(minutes=5 * i), float(v)) for i, v in enumerate(values)]
    return [i for i, row in enumerate(run_backtest(rows, settings=settings)) if row.alert]


def _catalogue():
    """Three days of 5-minute counts, small to large accounts, with a pile-on on the last day."""
    n = 3 * PER_DAY
    for level, size, length, seed in ((1, 3, 48, 2), (3, 6, 48, 1), (20, 4, 12, 1), (0.3, 6, 48, 1)):
        yield negbin(level * daily_shape(n) * burst(n, 2 * PER_DAY + 150, size, length), 0.1, seed=seed)


def test_the_docs_show_an_override_example_in_both_languages():
    assert len(_examples()) >= 2, _examples()


@pytest.mark.parametrize("example", _examples())
def test_every_knob_in_a_documented_override_changes_where_it_alerts(example):
    overrides = yaml.safe_load(example)
    assert overrides, example
    AlertsConfig(detector=overrides)  # the config accepts it as written
    streams = list(_catalogue())
    defaults = [_alert_rows(values, DetectorSettings()) for values in streams]
    assert any(defaults), "the catalogue must alert with the defaults"
    for knob, value in overrides.items():
        settings = DetectorSettings.from_dict({knob: value})
        changed = [_alert_rows(values, settings) != base for values, base in zip(streams, defaults, strict=True)]
        assert any(changed), f"{knob}: {value!r} from {example} changes no alert on any stream"
