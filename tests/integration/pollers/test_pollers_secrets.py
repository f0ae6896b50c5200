"""Tokens the pollers store are encrypted at rest (CRISISBOT_SECRET_KEY), against the fake Douyin server,
on the real database (SQLite, and PostgreSQL when configured). The raw row is read with plain SQL."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import yaml
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr
from sqlalchemy import text
from typer.testing import CliRunner

from bot.config import ConfigError
from tests.integration.pollers.helpers import comments

pytestmark = pytest.mark.slow

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
KEY_C = Fernet.generate_key().decode()
SECRETS = ("act.refreshed1", "rft.initial")


def ts(clock, seconds_ago: float) -> int:
    return int((clock.now() - timedelta(seconds=seconds_ago)).timestamp())


def use_key(settings, value: str | None) -> None:
    """The key a (re)started bot reads: what CRISISBOT_SECRET_KEY would hold."""
    settings.secret_key = SecretStr(value) if value is not None else None


def raw_row(db, source_id: str = "dy") -> str:
    """Every column of the source's row as the database returns it, plus the tokens column as text."""
    with db.session() as session:
        row = session.execute(
            text("SELECT * FROM feed_source_state WHERE source_id = :s"), {"s": source_id}
        ).mappings().one()
        tokens = session.execute(
            text("SELECT CAST(tokens AS TEXT) FROM feed_source_state WHERE source_id = :s"), {"s": source_id}
        ).scalar_one()
    return " ".join(str(value) for value in row.values()) + " " + tokens


def raw_tokens(db, source_id: str = "dy") -> dict:
    with db.session() as session:
        value = session.execute(
            text("SELECT CAST(tokens AS TEXT) FROM feed_source_state WHERE source_id = :s"), {"s": source_id}
        ).scalar_one()
    return json.loads(value)


def refresh_once(make_bot, fakes, clock):
    """Poll dy, expire its access token, poll again: the bot refreshes and stores act.refreshed1."""
    dy = fakes["douyin"]
    dy.add_comment("@item1", "d1", user="u1", content="第一条", create_time=ts(clock, 600))
    app = make_bot()
    service = app.services.sources
    assert service.poll("dy").status == "ok"
    dy.expire_access_token()
    dy.add_comment("@item1", "d2", user="u2", content="第二条", create_time=ts(clock, 0))
    clock.advance(300)
    outcome = service.poll("dy")
    assert outcome.status == "ok" and outcome.accepted == 1, outcome
    assert len(dy.calls("/oauth/refresh_token/")) == 1
    return app


def poll_again(make_bot, fakes, clock, comment_id: str):
    """Restart the bot (it reads the key again) and poll dy once more with one new comment."""
    fakes["douyin"].add_comment("@item1", comment_id, user="u", content="新评论", create_time=ts(clock, 0))
    clock.advance(300)
    app = make_bot()
    return app, app.services.sources.poll("dy")


def test_refreshed_tokens_are_encrypted_at_rest_and_used_by_the_next_poll(make_bot, fakes, clock, db, settings):
    use_key(settings, KEY_A)
    app = refresh_once(make_bot, fakes, clock)

    row = raw_row(db)
    for secret in SECRETS:
        assert secret not in row
    stored = raw_tokens(db)
    assert set(stored["access_token"]) == {"$fernet"} and set(stored["refresh_token"]) == {"$fernet"}
    assert json.loads(Fernet(KEY_A).decrypt(stored["access_token"]["$fernet"].encode())) == "act.refreshed1"
    # The service itself reads the plain pair back.
    tokens = app.services.sources.store.load("dy").tokens
    assert tokens["access_token"] == "act.refreshed1" and tokens["refresh_token"] == "rft.initial"

    # The next poll (a restart) sends the refreshed token: the fake server sees it; no second refresh.
    _, outcome = poll_again(make_bot, fakes, clock, "d3")
    assert outcome.status == "ok" and outcome.accepted == 1, outcome
    dy = fakes["douyin"]
    assert dy.calls("/item/comment/list/")[-1].headers["access-token"] == "act.refreshed1"
    assert len(dy.calls("/oauth/refresh_token/")) == 1
    for secret in SECRETS:
        assert secret not in raw_row(db)


def test_plain_tokens_from_before_the_key_still_read_and_are_encrypted_on_the_next_write(
    make_bot, fakes, clock, db, settings
):
    use_key(settings, None)
    refresh_once(make_bot, fakes, clock)
    assert "act.refreshed1" in raw_row(db)  # no key: stored as before

    use_key(settings, KEY_A)
    _, outcome = poll_again(make_bot, fakes, clock, "d3")
    assert outcome.status == "ok", outcome
    dy = fakes["douyin"]
    assert dy.calls("/item/comment/list/")[-1].headers["access-token"] == "act.refreshed1"
    assert len(dy.calls("/oauth/refresh_token/")) == 1
    row = raw_row(db)
    for secret in SECRETS:
        assert secret not in row
    assert "$fernet" in row


def test_rotation_new_key_first_reads_old_values_and_rewrites_them_under_the_new_key(
    make_bot, fakes, clock, db, settings
):
    use_key(settings, KEY_A)
    refresh_once(make_bot, fakes, clock)
    sealed_a = raw_tokens(db)["access_token"]["$fernet"]

    # Rotation: B first (encrypts), A still listed (decrypts). Reads work before anything is rewritten.
    use_key(settings, f"{KEY_B}, {KEY_A}")
    app = make_bot()
    assert app.services.sources.store.load("dy").tokens["access_token"] == "act.refreshed1"
    report = app.services.sources.store.reseal_tokens()
    assert report.resealed == ["dy"] and not report.failed
    sealed_b = raw_tokens(db)["access_token"]["$fernet"]
    assert json.loads(Fernet(KEY_B).decrypt(sealed_b.encode())) == "act.refreshed1"
    with pytest.raises(InvalidToken):
        Fernet(KEY_A).decrypt(sealed_b.encode())
    assert sealed_b != sealed_a

    # A poll's own write is under B too; A can then be dropped.
    use_key(settings, KEY_B)
    _, outcome = poll_again(make_bot, fakes, clock, "d3")
    assert outcome.status == "ok", outcome
    assert fakes["douyin"].calls("/item/comment/list/")[-1].headers["access-token"] == "act.refreshed1"
    refresh = raw_tokens(db)["refresh_token"]["$fernet"]
    assert json.loads(Fernet(KEY_B).decrypt(refresh.encode())) == "rft.initial"


def test_next_write_after_rotation_uses_the_first_key(make_bot, fakes, clock, db, settings):
    use_key(settings, KEY_A)
    refresh_once(make_bot, fakes, clock)
    use_key(settings, f"{KEY_B},{KEY_A}")
    _, outcome = poll_again(make_bot, fakes, clock, "d3")
    assert outcome.status == "ok", outcome
    sealed = raw_tokens(db)["access_token"]["$fernet"]
    assert json.loads(Fernet(KEY_B).decrypt(sealed.encode())) == "act.refreshed1"
    with pytest.raises(InvalidToken):
        Fernet(KEY_A).decrypt(sealed.encode())


@pytest.mark.parametrize("key", [None, KEY_C], ids=["missing-key", "wrong-key"])
def test_undecryptable_tokens_are_a_credential_error_and_other_sources_keep_polling(
    make_bot, fakes, clock, db, settings, monkeypatch, key
):
    use_key(settings, KEY_A)
    refresh_once(make_bot, fakes, clock)
    before = raw_tokens(db)
    list_calls = len(fakes["douyin"].calls("/item/comment/list/"))

    use_key(settings, key)
    clock.advance(300)  # the next round: a poll less than an interval after the last one is skipped
    fakes["bilibili"].add_reply("170001", 5001, mid=1, uname="b站用户", message="还在吗", ctime=ts(clock, 10))
    app = make_bot()
    service = app.services.sources
    outcome = service.poll("dy")
    assert outcome.status == "failed" and outcome.reason.startswith("config:"), outcome
    assert "CRISISBOT_SECRET_KEY" in outcome.reason
    assert ("未设置" in outcome.reason) == (key is None)
    # Nothing was sent with a wrong token and nothing was reset: the sealed pair is kept as it was.
    assert len(fakes["douyin"].calls("/item/comment/list/")) == list_calls
    assert len(fakes["douyin"].calls("/oauth/refresh_token/")) == 1
    assert raw_tokens(db)["access_token"] == before["access_token"]
    assert raw_tokens(db)["refresh_token"] == before["refresh_token"]
    status = {s.source_id: s for s in service.status()}
    assert "CRISISBOT_SECRET_KEY" in status["dy"].last_error and status["dy"].health == "failing"

    # The other sources go on.
    assert service.poll("bili").status == "ok"
    assert "5001" in {c.comment_id for c in comments(db, "bilibili")}

    # The scheduler's job for dy returns normally (a failed poll is health, not an exception).
    clock.advance(3600)
    job = app.wiring.scheduler.get_job("feeds-poll-dy")
    job.func()
    assert service.store.load("dy").consecutive_failures == 2

    # Putting the right key back recovers, still on the refreshed token.
    use_key(settings, KEY_A)
    _, outcome = poll_again(make_bot, fakes, clock, "d9")
    assert outcome.status == "ok", outcome
    assert fakes["douyin"].calls("/item/comment/list/")[-1].headers["access-token"] == "act.refreshed1"


def test_a_lost_key_is_recovered_by_re_authorising(make_bot, fakes, clock, db, settings, monkeypatch):
    use_key(settings, KEY_A)
    refresh_once(make_bot, fakes, clock)
    use_key(settings, None)
    dy = fakes["douyin"]
    dy.access_token, dy.refresh_token = "act.human", "rft.human"
    monkeypatch.setenv("DY_ACCESS", "act.human")
    monkeypatch.setenv("DY_REFRESH", "rft.human")
    _, outcome = poll_again(make_bot, fakes, clock, "d3")
    assert outcome.status == "ok", outcome
    assert dy.calls("/item/comment/list/")[-1].headers["access-token"] == "act.human"


def test_one_startup_warning_only_when_a_token_storing_source_runs_without_a_key(
    make_bot, settings, caplog
):
    caplog.set_level(logging.WARNING, logger="bot.feeds.wiring")

    def warnings() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "bot.feeds.wiring" and r.levelno == logging.WARNING]

    use_key(settings, None)
    make_bot()
    assert len(warnings()) == 1
    message = warnings()[0].getMessage()
    assert message.index("明文") < message.index("UNENCRYPTED")  # Chinese first
    assert "CRISISBOT_SECRET_KEY" in message and "Fernet.generate_key().decode()" in message
    assert "dy" in message

    caplog.clear()
    use_key(settings, KEY_A)
    make_bot()
    assert warnings() == []

    caplog.clear()
    use_key(settings, None)
    make_bot(lambda sources: sources[1].update({"enabled": False}))  # the quick start's disabled examples
    assert warnings() == []


def test_a_malformed_key_is_refused_with_the_env_var_named(settings):
    use_key(settings, f"{KEY_A},not-a-key")
    with pytest.raises(ConfigError) as caught:
        settings.secret_box()
    assert "CRISISBOT_SECRET_KEY" in str(caught.value) and "第 2 个" in str(caught.value)
    assert "not-a-key" not in str(caught.value)


def test_cli_secrets_rotate(tmp_path, monkeypatch, sqlite_db):
    from bot.clock import FakeClock
    from bot.feeds.pollers.base import SourceState
    from bot.feeds.pollers.store import DatabaseStateStore
    from bot.storage.secrets import SecretBox

    # A token pair written before any key was set (a disabled source: no poll will rewrite it).
    clock = FakeClock()
    state = SourceState(source_id="dy-off", tokens={"access_token": "act.plain", "refresh_token": "rft.plain",
                                                    "env_fingerprint": "0123456789abcdef"})
    DatabaseStateStore(sqlite_db, clock).save(state, "douyin")
    path = tmp_path / "crisisbot.yaml"
    path.write_text(yaml.safe_dump({"default_channel": "console:general"}), encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(path))
    monkeypatch.setenv("CRISISBOT_DATABASE_URL", sqlite_db.url)
    monkeypatch.delenv("CRISISBOT_SECRET_KEY", raising=False)
    from bot.cli import app

    runner = CliRunner()
    no_key = runner.invoke(app, ["secrets", "rotate"])
    assert no_key.exit_code == 2 and "CRISISBOT_SECRET_KEY" in no_key.output

    monkeypatch.setenv("CRISISBOT_SECRET_KEY", KEY_A)
    first = runner.invoke(app, ["secrets", "rotate"])
    assert first.exit_code == 0, first.output
    assert "dy-off" in first.output
    assert "act.plain" not in raw_row(sqlite_db, "dy-off") and "rft.plain" not in raw_row(sqlite_db, "dy-off")
    assert raw_tokens(sqlite_db, "dy-off")["env_fingerprint"] == "0123456789abcdef"  # metadata stays plain

    monkeypatch.setenv("CRISISBOT_SECRET_KEY", f"{KEY_B},{KEY_A}")
    second = runner.invoke(app, ["secrets", "rotate"])
    assert second.exit_code == 0, second.output
    sealed = raw_tokens(sqlite_db, "dy-off")["refresh_token"]["$fernet"]
    assert json.loads(Fernet(KEY_B).decrypt(sealed.encode())) == "rft.plain"
    opened = DatabaseStateStore(sqlite_db, clock, secrets=SecretBox([KEY_B])).load("dy-off").tokens
    assert opened["access_token"] == "act.plain"

    before = raw_tokens(sqlite_db, "dy-off")
    monkeypatch.setenv("CRISISBOT_SECRET_KEY", KEY_C)
    wrong = runner.invoke(app, ["secrets", "rotate"])
    assert wrong.exit_code == 1 and "dy-off" in wrong.output and "CRISISBOT_SECRET_KEY" in wrong.output
    assert raw_tokens(sqlite_db, "dy-off") == before
