"""wire(): Feishu on exactly when FEISHU_APP_ID and FEISHU_APP_SECRET are set; lark-oapi imported only then."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, datetime

import pytest

from bot.adapters.feishu.wiring import wall_clock
from bot.app import build_app
from bot.clock import FakeClock, ReplayClock
from bot.config import Settings


def routes_of(app) -> list[str]:
    return [getattr(r, "path", "") for r in app.wiring.routes]


def test_off_without_credentials(sqlite_db, app_config, clock):
    settings = Settings(_env_file=None, feishu_app_id="cli_only_id")  # type: ignore[call-arg]
    app = build_app(settings, app_config, clock=clock, db=sqlite_db, upgrade=False)
    assert "feishu" not in app.services.outbox.ports
    assert "/feishu/events" not in routes_of(app)


def test_on_with_credentials(sqlite_db, app_config, clock):
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, feishu_app_id=f"cli_{uuid.uuid4().hex[:8]}", feishu_app_secret="s",
        feishu_verification_token="t", feishu_encrypt_key="k", feishu_domain="http://127.0.0.1:9",
    )
    app = build_app(settings, app_config, clock=clock, db=sqlite_db, upgrade=False)
    port = app.services.outbox.ports["feishu"]
    assert port.client.config.domain == "http://127.0.0.1:9"
    assert "/feishu/events" in routes_of(app)
    assert "feishu_long_connection" not in app.services.extra  # http mode by default


def test_ws_mode_adds_the_long_connection_hooks(sqlite_db, app_config, clock):
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, feishu_app_id=f"cli_{uuid.uuid4().hex[:8]}", feishu_app_secret="s", feishu_mode="ws",
        feishu_domain="http://127.0.0.1:9",
    )
    app = build_app(settings, app_config, clock=clock, db=sqlite_db, upgrade=False)
    connection = app.services.extra["feishu_long_connection"]
    assert connection.start in app.wiring.on_start and connection.stop in app.wiring.on_stop


def test_replay_clock_is_not_used_to_judge_feishu_timestamps():
    fake = FakeClock(datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    replay = ReplayClock(datetime(2020, 1, 1, tzinfo=UTC), speed=3600, real=fake)
    assert wall_clock(replay).now() == fake.now()
    assert wall_clock(fake) is fake


@pytest.mark.slow
def test_lark_is_not_imported_when_feishu_is_off(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys
        from bot.app import build_app
        from bot.config import Settings, parse_config
        settings = Settings(_env_file=None, database_url="sqlite:///{tmp_path / 'x.db'}")
        config = parse_config({{"default_channel": "console:general"}}, source="test")
        build_app(settings, config)
        assert "lark_oapi" not in sys.modules, "lark_oapi imported although Feishu is off"
        """
    )
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
