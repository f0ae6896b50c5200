"""`crisisbot ingest FILE` twice (the second time by another path: its absolute one): each import
reports its rejected rows, and `crisisbot ingest --dead-letters` lists each of them once, with how many
times it was rejected. Real processes, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
           "COLUMNS": "200"}
    for name in ("CRISISBOT_CONFIG", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "FEISHU_APP_ID",
                 "FEISHU_APP_SECRET"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "bot.cli", "ingest", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_file_imported_twice_lists_its_rejected_rows_once(tmp_path):
    (tmp_path / "data").mkdir()
    good = {"platform": "douyin", "account_id": "a1", "content_id": "v", "comment_id": "c1", "text": "好用",
            "created_at": 1763813700}
    lines = [json.dumps(good, ensure_ascii=False), "第二行不是 JSON", json.dumps({"comment_id": "bad3"})]
    (tmp_path / "data" / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for path in ("data/feed.jsonl", str(tmp_path / "data" / "feed.jsonl")):
        imported = run(tmp_path, path)
        assert imported.returncode == 0, imported.stderr
        assert "拒收 rejected 2" in imported.stdout  # the second import still reports them
    listed = run(tmp_path, "--dead-letters")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("第二行不是 JSON") == 1 and listed.stdout.count("bad3") == 1, listed.stdout
    assert listed.stdout.count("2（最近 last") == 2  # rejected twice each
