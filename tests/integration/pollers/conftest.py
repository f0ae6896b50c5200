"""Fixtures for the poller integration tests: a wired bot whose config lists sources pointing at local
fake platform servers, on the test database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import pytest

from bot.config import parse_config
from tests.conftest import TEST_CONFIG
from tests.fakes.platforms import FakeAnnouncements, FakeBilibili, FakeDouyin, FakeKuaishouOpen, FakeWeibo

ENV = {
    "DY_ACCESS": "act.initial",
    "DY_REFRESH": "rft.initial",
    "DY_CLIENT_KEY": "tt_client",
    "WB_TOKEN": "2.00weibo_token",
    "KS_APP_ID": "ks_app",
    "KS_TOKEN": "ks_token",
}


@pytest.fixture
def env(monkeypatch) -> dict[str, str]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return dict(ENV)


@pytest.fixture
def fakes() -> Iterator[dict[str, object]]:
    started = {
        "bilibili": FakeBilibili().start(),
        "douyin": FakeDouyin().start(),
        "weibo": FakeWeibo().start(),
        "kuaishou": FakeKuaishouOpen().start(),
        "announcements": FakeAnnouncements().start(),
    }
    yield started
    for fake in started.values():
        fake.stop()  # type: ignore[attr-defined]


def source_configs(fakes) -> list[dict]:
    return [
        {"id": "bili", "type": "bilibili", "account": {"platform": "bilibili", "account_id": "42"},
         "targets": ["170001"], "base_url": fakes["bilibili"].url, "backfill": "1h",
         "settings": {"page_size": 10}},
        {"id": "dy", "type": "douyin", "account": {"platform": "douyin", "account_id": "lanji_official"},
         "targets": ["@item1"], "base_url": fakes["douyin"].url, "backfill": "1h",
         "credentials": {"access_token": "DY_ACCESS", "refresh_token": "DY_REFRESH", "client_key": "DY_CLIENT_KEY"},
         "settings": {"count": 10, "own_user_ids": ["brand-user"]}},
        {"id": "wb", "type": "weibo", "account": {"platform": "weibo", "account_id": "1900"},
         "targets": ["4900000000000001"], "base_url": fakes["weibo"].url, "backfill": "1h",
         "credentials": {"access_token": "WB_TOKEN"}, "settings": {"count": 10}},
        {"id": "ks", "type": "generic_json", "account": {"platform": "kuaishou", "account_id": "ks_brand"},
         "targets": ["3xphoto"], "base_url": fakes["kuaishou"].url, "backfill": "1h",
         "credentials": {"app_id": "KS_APP_ID", "access_token": "KS_TOKEN"}, "settings": {"preset": "kuaishou_open"}},
        {"id": "rules", "type": "announcements", "base_url": fakes["announcements"].url + "/feed",
         "settings": {"platform_name": "抖音"}},
    ]


@pytest.fixture
def make_bot(db, settings, clock, env, fakes) -> Iterator[Callable[..., object]]:
    """Build (and rebuild: a restart) the bot on the same database, with sources edited by `tweak`."""
    from bot.app import build_app

    built = []

    def make(tweak: Callable[[list[dict]], None] | None = None):
        data = copy.deepcopy(TEST_CONFIG)
        sources = source_configs(fakes)
        if tweak:
            tweak(sources)
        data["feeds"] = {"sources": sources}
        config = parse_config(data, source="tests")
        app = build_app(settings, config, clock=clock, db=db, upgrade=False)
        built.append(app)
        return app

    yield make
    for app in built:
        app.services.sources.close()
        app.stop()
