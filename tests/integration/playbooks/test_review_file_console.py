"""The console channel gets the review as the Slack and Feishu ones do: a summary message, the chart, and the
whole Markdown review as a file, written into the console's folder, the transcript saying where."""

from __future__ import annotations

import io

from bot.adapters.console.render import default_files_dir, render_text
from tests.integration.playbooks.helpers import CrisisDriver, review_markdown

START = "/crisis start 负面舆情爆发 面霜过敏 --account douyin:lanji_official"


def test_the_review_file_is_written_and_the_transcript_says_where(bot, tmp_path):
    bot.console.files_dir = tmp_path / "files"
    bot.console.echo = echo = io.StringIO()
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis done triage")
    (report,) = d.run("/crisis report")

    written = tmp_path / "files" / "crisis-1-review.md"
    assert written.read_text(encoding="utf-8") == review_markdown(report)
    assert written.read_text(encoding="utf-8").startswith("# 复盘报告：面霜过敏")
    transcript = echo.getvalue()
    assert f"[文件 / file: crisis-1-review.md ({written.stat().st_size} bytes) → {written}]" in transcript
    summary = transcript.split("== 复盘报告 #1")[1]
    assert "| --- |" not in summary and "![" not in summary and "## " not in summary
    assert "状态 / Status" in summary and "持续 / Duration" in summary and "[图片 / image: 负面占比" in summary
    # a console showing the queued message (`crisisbot console` beside serve) names the console's own folder
    assert f"→ {default_files_dir() / 'crisis-1-review.md'}]" in render_text(report)

    # a newer version of the same review replaces the file; nothing else is left in the folder
    d.run("/crisis note 已回复")
    d.run("/crisis report")
    assert [p.name for p in (tmp_path / "files").iterdir()] == ["crisis-1-review.md"]
    assert "已回复" in written.read_text(encoding="utf-8")
