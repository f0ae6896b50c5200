"""One reading of the comma-separated pins (SLACK_TEAM_ID, SLACK_APP_ID, FEISHU_TENANT_KEY): the settings
check and both adapters split them with bot.id_lists.split_ids, so what `config check` accepts is exactly
what the adapters pin."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.adapters.feishu.settings import settings_from_values
from bot.adapters.slack.wiring import load_credentials
from bot.config import Settings
from bot.id_lists import split_ids

PINS = ("SLACK_TEAM_ID", "SLACK_APP_ID", "FEISHU_TENANT_KEY")


@pytest.mark.parametrize("value, ids", [
    (None, []),
    ("", []),
    (" , ,\t", []),
    ("T1", ["T1"]),
    (" T2 ,, T1 ,T2,\n", ["T2", "T1"]),  # stripped, blanks and repeats left out, order kept
])
def test_split_ids(value, ids):
    assert split_ids(value) == ids


@pytest.mark.parametrize("team, app, tenant", [
    (" T1 ,, E2 ,T1,", "A1, ,A2", " t1 ,,t2, "),
    (" , ", ",", " "),
])
def test_settings_and_both_adapters_read_the_same_ids(monkeypatch, team, app, tenant):
    for name in PINS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_TEAM_ID", team)
    monkeypatch.setenv("SLACK_APP_ID", app)
    monkeypatch.setenv("FEISHU_TENANT_KEY", tenant)
    settings = Settings()
    assert settings.slack_team_id == (",".join(split_ids(team)) or None)
    assert settings.feishu_tenant_key == (",".join(split_ids(tenant)) or None)
    for source in (settings, None):  # through Settings, and straight from the environment
        slack = load_credentials(source)
        assert slack.team_ids == frozenset(split_ids(team))
        assert slack.app_ids == frozenset(split_ids(app))
    for tenant_value in (settings.feishu_tenant_key, tenant):  # normalised, and raw with blanks
        feishu = settings_from_values(SimpleNamespace(feishu_app_id="cli_x", feishu_app_secret="s",
                                                      feishu_tenant_key=tenant_value))
        assert feishu.tenant_keys == frozenset(split_ids(tenant))
