"""A second `serve` on a port already in use (a second `make run` beside a running demo) exits 2 before it
rebuilds var/demo.db: the running demo's database is not deleted under it."""

from __future__ import annotations

import socket

from bot.config import AppConfig, Settings
from bot.serve import run_serve


def test_port_in_use_leaves_the_running_demo_database_alone(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("CRISISBOT_INGEST_TOKEN", "CRISISBOT_DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
                 "SLACK_APP_TOKEN", "FEISHU_APP_ID", "FEISHU_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    var = tmp_path / "var"
    var.mkdir()
    running = var / "demo.db"
    running.write_bytes(b"the running demo's database")
    (var / "demo.db-wal").write_bytes(b"its write-ahead log")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        code = run_serve(Settings(), AppConfig(), host="127.0.0.1", port=taken.getsockname()[1], console=False,
                         demo=True, exit_after_replay=False, speed=600.0)
    finally:
        taken.close()
    assert code == 2
    assert "cannot listen" in capsys.readouterr().err
    assert running.read_bytes() == b"the running demo's database"
    assert (var / "demo.db-wal").read_bytes() == b"its write-ahead log"
