"""A database password given as a query parameter (`?password=…`, which libpq and psycopg accept and
SQLAlchemy passes on) is a secret like the one in the user info: hidden wherever the URL is shown."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.storage.db import redact_url

CONFIG = "clients: [{id: lanji, name: 澜肌护肤}]\nchannels: [{id: 'console:lanji', client: lanji}]\n"


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://bob@127.0.0.1:1/crisisbot?password=s3cret",
     "postgresql+psycopg://bob@127.0.0.1:1/crisisbot?password=***"),
    ("postgresql+psycopg://bob:s3cret@127.0.0.1:1/crisisbot?sslmode=require&sslpassword=s3cret",
     "postgresql+psycopg://bob:***@127.0.0.1:1/crisisbot?sslmode=require&sslpassword=***"),
    ("postgresql+psycopg://bob@h/crisisbot?sslmode=require", "postgresql+psycopg://bob@h/crisisbot?sslmode=require"),
])
def test_redact_url_hides_a_password_in_the_query_too(url, shown):
    assert redact_url(url) == shown


def test_an_unreachable_server_named_with_a_query_password_never_shows_it(tmp_path, monkeypatch):
    for name in ("CRISISBOT_SECRET_KEY", "DATABASE_URL", "CRISISBOT_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    # port 1 on loopback: nothing listens there, the connection is refused at once
    url = "postgresql+psycopg://bob@127.0.0.1:1/crisisbot?password=s3cret"
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"CRISISBOT_CONFIG": str(config),
                                                            "CRISISBOT_DATABASE_URL": url})
    assert result.exit_code == 2, result.output
    assert "bob@127.0.0.1:1/crisisbot?password=***: 无法连接数据库" in result.output
    assert "s3cret" not in result.output
