"""CLI audit: what `serve` did that `poll` and `purge --expired` did not, and DATABASE_URL alone.

- `crisisbot poll` ran with a missing `sentiment.model_path`: it opened (or created) the database and polled
  with a model it could not load. It now refuses up front, as serve, ingest and the console do (exit 2).
- `crisisbot purge --expired` left the alert bucket counts older than `alerts.bucket_retention_days`: only
  serve's 6-hourly job pruned them. It now prunes them too and says how many went; on PostgreSQL it leaves
  them to a process already pruning (the same advisory lock).
- With only DATABASE_URL set, serve counted nothing as set up and played the demo on var/demo.db.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select
from typer.testing import CliRunner

from bot.alerts.models import AlertBucket
from bot.alerts.service import PRUNE_LOCK_KEY

runner = CliRunner()

#: variables a developer's shell may hold that would change what these tests see
ENV = ("CRISISBOT_DATABASE_URL", "DATABASE_URL", "CRISISBOT_CONFIG", "CRISISBOT_INGEST_TOKEN", "SLACK_BOT_TOKEN",
       "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "FEISHU_APP_ID", "FEISHU_APP_SECRET")


def _url(db) -> str:
    # The PostgreSQL fixture works in its own schema; the CLI reaches it through libpq's options.
    return db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def _config(tmp_path, env, text: str) -> None:
    (tmp_path / "crisisbot.yaml").write_text(text, encoding="utf-8")
    env.setenv("CRISISBOT_CONFIG", str(tmp_path / "crisisbot.yaml"))


# --- 1. poll checks the model file first --------------------------------------------------------------


def test_poll_refuses_a_missing_model_file_before_touching_the_database(tmp_path, env):
    from bot.cli import app

    env.setenv("CRISISBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    _config(tmp_path, env, "sentiment:\n  model_path: models/gone.npz\n")
    result = runner.invoke(app, ["poll", "anything"])
    assert result.exit_code == 2, result.output
    assert "配置有误 / invalid configuration:" in result.stderr
    assert "sentiment.model_path: 找不到模型文件 / model file not found: models/gone.npz" in result.stderr
    assert "Traceback" not in result.output and "未知数据源" not in result.output
    assert not (tmp_path / "db.sqlite").exists()


def test_poll_still_takes_its_source_argument_and_help(tmp_path, env):
    from bot.cli import app

    env.setenv("CRISISBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    _config(tmp_path, env, "default_channel: console:general\n")
    unknown = runner.invoke(app, ["poll", "nosuch"])
    assert unknown.exit_code == 2 and "未知数据源 / unknown source: nosuch" in unknown.stderr, unknown.output
    shown = runner.invoke(app, ["poll", "--help"])
    assert shown.exit_code == 0 and "SOURCE_ID" in shown.output and "立即轮询一次数据源" in shown.output


# --- 2. purge --expired prunes old alert bucket counts ---------------------------------------------


def _buckets(db, *ages: timedelta) -> None:
    now = datetime.now(UTC)
    with db.session() as session:
        for i, age in enumerate(ages):
            start = (now - age).replace(minute=0, second=0, microsecond=0)
            session.add(AlertBucket(platform="douyin", account_id="a1", content_id=f"v{i}", bucket_start=start,
                                    total=3))


def _bucket_count(db) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(AlertBucket)).one()


def test_purge_expired_prunes_alert_buckets_past_their_retention(db, tmp_path, env):
    from bot.cli import app

    env.setenv("CRISISBOT_DATABASE_URL", _url(db))
    _config(tmp_path, env, "alerts:\n  bucket_retention_days: 10\n")
    _buckets(db, timedelta(days=30), timedelta(days=11), timedelta(days=9), timedelta(hours=2))
    result = runner.invoke(app, ["purge", "--expired"])
    assert result.exit_code == 0, result.output
    assert "已清理 / purged: 原始数据 raw payloads 0," in result.stdout
    assert "告警分桶计数 alert bucket rows 2" in result.stdout
    assert _bucket_count(db) == 2  # the 9-day and 2-hour ones, inside the 10 days
    again = runner.invoke(app, ["purge", "--expired"])
    assert "告警分桶计数 alert bucket rows 0" in again.stdout and "另一进程" not in again.stdout
    assert "含过期的告警分桶计数" in runner.invoke(app, ["purge", "--help"]).output


def test_purge_expired_leaves_the_buckets_to_a_process_already_pruning_them(db, tmp_path, env):
    if db.dialect != "postgresql":
        pytest.skip("SQLite runs one writer at a time anyway")
    from bot.cli import app

    env.setenv("CRISISBOT_DATABASE_URL", _url(db))
    _config(tmp_path, env, "default_channel: console:general\n")
    _buckets(db, timedelta(days=30))
    with db.engine.connect() as other, other.begin():  # a `serve` pruning right now
        other.execute(select(func.pg_advisory_xact_lock(PRUNE_LOCK_KEY, func.hashtext(func.current_schema()))))
        result = runner.invoke(app, ["purge", "--expired"])
    assert result.exit_code == 0, result.output
    assert ("告警分桶计数 alert bucket rows 0（另一进程正在清理，其余由它完成 / another process is pruning them: "
            "the rest is left to it）") in result.stdout
    assert _bucket_count(db) == 1
    assert "告警分桶计数 alert bucket rows 1" in runner.invoke(app, ["purge", "--expired"]).stdout


# --- 3. DATABASE_URL alone is a configured database ------------------------------------------------


def test_database_url_alone_counts_as_set_up_as_crisisbot_database_url_does(tmp_path, env):
    from bot.config import load_all
    from bot.serve import real_setup

    assert real_setup(*load_all()[:2]) is None  # a fresh folder: the demo
    env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'named.db'}")
    assert real_setup(*load_all()[:2]) == ("已配置数据库（DATABASE_URL）", "a database is configured (DATABASE_URL)")
    env.setenv("CRISISBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'mine.db'}")
    assert real_setup(*load_all()[:2])[1] == "a database is configured (CRISISBOT_DATABASE_URL)"
