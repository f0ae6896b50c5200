"""`purge_author` (PIPL deletion) also reaches the copies an audit found left behind.

After a purge the database still held: a pending report's HTML file quoting their comment (files travel
base64-encoded in the outbox payload, out of sight of the text search); other people's replies naming
and quoting them, with the raw payload repeating both, and the sentiment correction copying such a
reply; the precheck copy of a reply draft addressing them by name; a skip reason on someone else's queue
item, a playbook step's skip reason, a run's closing note and its `--var` values naming them (their
timeline copies were already cut). Everything but the files is made by the real paths: ingest,
/reply-queue, /crisis, /sentiment fix, the outbox.
"""

from __future__ import annotations

import base64
import html
import json
from datetime import timedelta

from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, select
from typer.testing import CliRunner

from bot.app import build_app
from bot.config import parse_config
from bot.messages import Command, File, Message
from bot.playbooks.models import CrisisRun, CrisisStep
from bot.redaction import REDACTED
from bot.replies.models import ReplyQueueItem
from bot.retention import purge_author
from bot.sentiment.models import SentimentCorrection
from bot.storage.model_modules import import_all_models
from bot.storage.models import Comment, OutboxMessage

CONFIG = {
    "timezone": "Asia/Shanghai",
    "clients": [{"id": "lanji", "name": "澜肌护肤"}],
    "accounts": [{"platform": "douyin", "account_id": "lanji_official", "name": "澜肌官方旗舰店", "client": "lanji"}],
    # slack:C1 has no enabled adapter in tests: what is sent there stays pending in the outbox
    "channels": [{"id": "console:lanji", "client": "lanji"}, {"id": "slack:C1", "client": "lanji"}],
}
VICTIM, NAME = "victim-9b2c", "王小受Wxs"
# "&" and quotes: an HTML file holds them escaped
THEIR_TEXT = ('面霜用了第三天整张脸过敏红肿，客服推脱说是我皮肤问题，拒绝"退款&售后"还拉黑我，太恶心了垃圾产品，'
              '大家千万别买，我已经向消协投诉，所有聊天记录都截图保存了，这种黑心商家就该被曝光！')
REPLY_TEXT = f"回复 @{NAME}：「{THEIR_TEXT}」我也一样，太差了"
OTHER_TEXT = "今天直播几点开始呀"


def _record(comment_id, author, name, text, at, likes, **extra):
    return {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
            "text": text, "created_at": at.isoformat(), "like_count": likes, "content_title": "新品面霜",
            "content_url": "https://www.douyin.com/video/v1", "author_id": author, "author_name": name, **extra}


def _dump(db) -> str:
    """Every row of every table as text, base64 file contents decoded, comments' parent_id left out (a reply
    keeps the id of the comment it answered: documented)."""
    import_all_models()
    parts = []
    with db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in session.execute(sa_select(table)).mappings():
                row = {k: v for k, v in row.items() if not (table.name == "comment" and k == "parent_id")}
                parts.append(json.dumps(row, ensure_ascii=False, default=str))
                for payload in (row.get("payload"),) if table.name == "outbox_message" else ():
                    for file in (payload or {}).get("files", []):
                        parts.append(base64.b64decode(file["content"]).decode("utf-8"))
    return "\n".join(parts)


def test_purge_reaches_files_others_replies_and_reasons(db, settings, clock):
    app = build_app(settings, parse_config(CONFIG, source="test"), clock=clock, db=db, upgrade=False)
    try:
        now = clock.now()
        app.services.ingest.ingest_records([
            _record("vic-1", VICTIM, NAME, THEIR_TEXT, now - timedelta(hours=2), 900),
            _record("reply-1", "other-2", "路人乙", REPLY_TEXT, now - timedelta(hours=1), 3, parent_id="vic-1",
                    reply_to={"author_id": VICTIM}),
            _record("other-1", "other-3", "路人丙", OTHER_TEXT, now - timedelta(hours=1), 0),
            _record("other-2", "other-4", "路人丁", "我的也过敏了", now - timedelta(hours=1), 0),
        ], source="test")
        counter = iter(range(1, 1000))

        def run(text, channel="console:lanji"):
            platform = channel.partition(":")[0]
            app.dispatcher.handle(Command(platform, channel, f"{platform}:alice", text, user_name="alice",
                                          event_id=f"audit-{next(counter)}"))
            app.services.outbox.drain()

        with db.session() as session:
            items = {i.comment_id: i.id for i in session.exec(select(ReplyQueueItem))}
        run(f"/reply-queue skip {items['other-1']} 与{NAME}的投诉重复")
        run("/sentiment fix douyin:reply-1 neg")
        # a reply to someone else addressing them: the draft and its precheck keep the text
        run(f'/reply-queue done {items["other-2"]} "{NAME}和您反馈的情况我们都已记录，请私信订单号"')
        run(f'/crisis start product-complaint "面霜过敏投诉" --var contact_channel={NAME}的私信')
        run(f"/crisis skip intake {NAME}已撤诉")
        run(f"/crisis cancel 已与{NAME}和解")
        # A report's HTML (escaped) and a review's Markdown, waiting for slack:C1 as files: the message text
        # itself does not quote them. (A real /report builds the same HTML, but its chart and keyword
        # extraction cost seconds on a cold process.)
        quote = THEIR_TEXT[:79] + "…"
        report = Message(text="日报 / daily report", files=(
            File("report.html", f"<li>「{html.escape(quote)}」— {html.escape(NAME)}</li>\n</html>".encode(), "text/html"),
            File("review.md", f"- 升级评论 douyin:vic-1：「{quote}」\n".encode(), "text/markdown"),
        ))
        assert app.services.outbox.send(channel="slack:C1", message=report, key="audit-report")
        before = _dump(db)
        assert THEIR_TEXT[:20] in before and html.escape(THEIR_TEXT)[:40] in before and NAME in before

        counts = purge_author(db, "douyin", VICTIM, now=clock.now())

        after = _dump(db)
        assert [f for f in (VICTIM, NAME, THEIR_TEXT[:20], html.escape(THEIR_TEXT)[:40], "douyin:vic-1")
                if f in after] == []
        assert counts["comments"] == 1 and counts["comments_redacted"] == 1
        assert counts["corrections_redacted"] == 1 and counts["reply_skip_reasons"] == 1
        assert counts["reply_drafts_redacted"] == 1
        assert counts["playbook_reasons"] == 3  # the step's reason, the closing note, the --var value
        assert counts["outbox_redacted"] >= 1  # the files, and the liked-comment notice waiting for slack:C1
        with db.session() as session:
            reply = session.exec(select(Comment).where(Comment.comment_id == "reply-1")).one()
            # someone else's reply stays theirs: its author, its own words, its thread
            assert reply.author_name == "路人乙" and reply.parent_id == "vic-1"
            assert reply.text == f"回复 @{REDACTED}：「{REDACTED}」我也一样，太差了" and reply.raw is None
            correction = session.exec(select(SentimentCorrection)).one()
            assert correction.text == reply.text and correction.new_label == "neg"
            other = session.exec(select(Comment).where(Comment.comment_id == "other-1")).one()
            assert other.text == OTHER_TEXT and other.raw is not None
            assert session.exec(select(ReplyQueueItem).where(ReplyQueueItem.comment_id == "other-1")).one(
            ).skip_reason == f"与{REDACTED}的投诉重复"
            step = session.exec(select(CrisisStep).where(CrisisStep.step_id == "intake")).one()
            run_row = session.exec(select(CrisisRun)).one()
            assert step.reason == f"{REDACTED}已撤诉" and run_row.close_reason == f"已与{REDACTED}和解"
            assert run_row.variables["contact_channel"] == f"{REDACTED}的私信"
            pending = session.exec(select(OutboxMessage).where(OutboxMessage.key == "audit-report")).one()
        assert pending.status == "pending" and pending.payload["text"] == "日报 / daily report"
        files = {f["name"]: base64.b64decode(f["content"]).decode("utf-8") for f in pending.payload["files"]}
        assert files == {"report.html": f"<li>「{REDACTED}」— {REDACTED}</li>\n</html>",
                         "review.md": f"- 升级评论 {REDACTED}：「{REDACTED}」\n"}
        # done once: a second request finds nothing more to do
        assert set(purge_author(db, "douyin", VICTIM, now=clock.now()).values()) == {0}
    finally:
        app.stop()


def test_a_request_that_finds_nothing_says_so(db, tmp_path, monkeypatch):
    (tmp_path / "crisisbot.yaml").write_text("default_channel: console:general\n", encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(tmp_path / "crisisbot.yaml"))
    url = db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"
    monkeypatch.setenv("CRISISBOT_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    from bot.cli import app

    result = CliRunner().invoke(app, ["purge", "--author", "douyin:nobody-here"])
    assert result.exit_code == 0, result.output
    assert "评论 comments 0," in result.output
    assert "未找到该作者的任何数据" in result.output and "nothing of this author is stored" in result.output
