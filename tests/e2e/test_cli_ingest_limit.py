"""`crisisbot ingest --limit N FILE`: --limit only sizes the --dead-letters listing, so given for an import
it is refused (exit 2, Chinese first with English) instead of silently importing the whole file. Real
processes, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    for name in ("CRISISBOT_CONFIG", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "FEISHU_APP_ID",
                 "FEISHU_APP_SECRET"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "bot.cli", "ingest", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def test_limit_without_dead_letters_is_refused_and_nothing_is_imported(tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(json.dumps({
        "platform": "douyin", "account_id": "a1", "content_id": "v", "comment_id": f"c{i}", "text": f"第{i}条",
        "created_at": 1763813700 + i}, ensure_ascii=False) for i in range(8)) + "\n", encoding="utf-8")
    result = run(tmp_path, "--limit", "5", str(feed))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--limit 只用于 --dead-letters" in result.stderr and "--limit only applies to --dead-letters" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "bot.db").exists()  # refused before anything was opened or stored

    imported = run(tmp_path, str(feed))
    assert imported.returncode == 0, imported.stderr
    listed = run(tmp_path, "--dead-letters", "--limit", "5")
    assert listed.returncode == 0, listed.stderr
    assert run(tmp_path, "--dead-letters").returncode == 0  # the default still lists 50
