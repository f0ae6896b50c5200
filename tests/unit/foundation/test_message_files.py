"""`Message.files`: documents posted as files beside a message, stored in the outbox like images."""

from __future__ import annotations

import json

from bot.messages import File, Image, Message
from bot.outbox import _is_upload, call_kind
from bot.storage.models import OutboxMessage


def test_files_survive_the_outbox_payload():
    message = Message(text="摘要", images=(Image("图", png=b"\x89PNG"),),
                      files=(File("crisis-1-review.md", "# 复盘\n".encode(), "text/markdown", "复盘报告"),))
    payload = json.loads(json.dumps(message.to_dict()))  # as stored: JSON
    assert Message.from_dict(payload) == message


def test_a_payload_stored_before_files_existed_still_reads():
    stored = Message(text="旧消息").to_dict()
    assert "files" not in stored  # messages without files are stored as before
    assert Message.from_dict(stored).files == ()


def test_files_decide_the_kind_of_call():
    document = File("a.md", b"# a\n")
    assert _is_upload(Message(files=(document,))) and not _is_upload(Message(text="x", files=(document,)))
    row = OutboxMessage(key="k", channel="slack:C1", kind="post",
                        payload=Message(text="x", images=(Image("i", png=b"p"),), files=(document,)).to_dict())
    assert call_kind(row) == "post+png+file"
    row.payload = Message(text="x").to_dict()
    assert call_kind(row) == "post"
