"""`crisisbot sentiment train --include-corrections` reads the corrections table; eval compares models."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from bot.sentiment.cli import app
from bot.sentiment.models import SentimentCorrection

runner = CliRunner()


@pytest.mark.slow
def test_train_with_corrections_changes_the_model(sqlite_db, tmp_path):
    data = tmp_path / "tiny.csv"
    with data.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows([("太好了，喜欢", "pos"), ("很棒，支持", "pos"), ("垃圾，失望", "neg"),
                          ("太差了，退款", "neg"), ("请问几点开始", "neu"), ("在哪里买", "neu")])
    with sqlite_db.session() as s:
        s.add(SentimentCorrection(platform="douyin", account_id="a", comment_id="c1", text="蚌埠住了，离大谱",
                                  old_label="pos", new_label="neg", corrected_by="console:alice",
                                  channel="console:lanji", created_at=datetime(2026, 11, 22, tzinfo=UTC)))
    before, after = tmp_path / "before.npz", tmp_path / "after.npz"
    assert runner.invoke(app, ["train", "--data", str(data), "--out", str(before)]).exit_code == 0
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(after), "--include-corrections",
                                 "--database-url", sqlite_db.url])
    assert result.exit_code == 0, result.output
    assert before.read_bytes() != after.read_bytes()
    from bot.sentiment.model import LinearModel

    meta = LinearModel.load(after).meta["training"]
    assert any(src["file"] == "corrections" and src["rows"] == 1 for src in meta["sources"])
    check = tmp_path / "check.csv"
    check.write_text("text,label\n蚌埠住了，离大谱,neg\n", encoding="utf-8")
    result = runner.invoke(app, ["eval", str(check), "--json", "--model", str(before), "--model", str(after)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert [m["model"] for m in payload["models"]] == [str(before), str(after)]
