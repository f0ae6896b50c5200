"""`crisisbot ingest` into a pipe or a log: each reason and summary stays on one line (rich used to break
them at 80 columns, mid-phrase, so a grep for a reason missed it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_reasons_and_warnings_are_not_broken_across_lines(tmp_path):
    feed = tmp_path / "f.csv"
    feed.write_text(
        "platform,account_id,content_id,comment_id,text,created_at,like_count\n"
        "douyin,a1,c1,k1,好,2026-11-01T10:00:00+08:00,很多\n"
        "douyin,a1,c1,k2,差,0,1\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISBOT_")}
    env.update(CRISISBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", CRISISBOT_LOG_LEVEL="WARNING")
    env.pop("COLUMNS", None)  # rich's width in a pipe: 80
    crisisbot = Path(sys.executable).with_name("crisisbot")
    done = subprocess.run([str(crisisbot), "ingest", str(feed)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("like_count: 无法识别的计数" in line and "the comment is stored: '很多'" in line for line in lines), lines
    assert any("created_at: 早于 2000-01-01" in line and "not a real comment time: 0" in line for line in lines), lines
