"""`alerts.bucket_retention_days`: bucket counts are pruned after it, so it may not be shorter than what
alerts read (the 8-day catch-up plus the longest detector window): a shorter one is refused, Chinese first."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.alerts.settings import AlertsConfig
from bot.config import ConfigError, parse_config


def test_the_default_keeps_two_weeks_and_nine_days_is_the_least():
    assert AlertsConfig().bucket_retention_days == 14
    assert AlertsConfig(bucket_retention_days=9).bucket_retention_days == 9
    with pytest.raises(ValidationError, match=r"至少应为 9 天.* / must be at least 9 days"):
        AlertsConfig(bucket_retention_days=8)


def test_a_longer_detector_window_needs_a_longer_retention():
    # a two-day window (576 five-minute buckets) reads two more days back than the default hour
    long_window = {"windows": [1, 3, 12, 576], "window_thresholds": [12, 12, 5.5, 5.5]}
    assert AlertsConfig(detector=long_window).bucket_retention_days == 14
    with pytest.raises(ValidationError, match="至少应为 11 天"):
        AlertsConfig(detector=long_window, bucket_retention_days=10)


def test_config_check_names_the_key():
    with pytest.raises(ConfigError) as refused:
        parse_config({"alerts": {"bucket_retention_days": 3}}, source="tests")
    assert "alerts.bucket_retention_days: 至少应为 9 天" in str(refused.value)
