"""The console chat platform: channels are local transcripts, echoed to a terminal when asked."""

from __future__ import annotations

import itertools
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.adapters.console.render import render_text
from bot.messages import Image, Message


@dataclass
class ConsoleEntry:
    message_id: str
    channel_id: str
    message: Message
    updates: int = 0


@dataclass
class ConsolePort:
    """ChatPort for `console:<channel>` addresses. Keeps every message so tests and the REPL can read them."""

    echo: TextIO | None = None
    image_dir: Path | None = None
    platform: str = "console"
    entries: dict[str, ConsoleEntry] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def post(
        self, channel_id: str, message: Message, *, idempotency_key: str, maybe_sent_since: datetime | None = None
    ) -> str:
        # maybe_sent_since is ignored: an in-process call cannot lose its answer.
        with self._lock:
            message_id = f"console-{next(self._ids)}"
            self.entries[message_id] = ConsoleEntry(message_id, channel_id, message)
            self.order.append(message_id)
        self._save_images(message_id, message)
        self._print(channel_id, message, updated=False)
        return message_id

    def update(self, channel_id: str, message_id: str, message: Message) -> None:
        with self._lock:
            entry = self.entries.get(message_id)
            if entry is None:
                entry = ConsoleEntry(message_id, channel_id, message)
                self.entries[message_id] = entry
                self.order.append(message_id)
            entry.message = message
            entry.updates += 1
        self._print(channel_id, message, updated=True)

    def upload(self, channel_id: str, image: Image, *, idempotency_key: str,
               maybe_sent_since: datetime | None = None) -> str:
        return self.post(channel_id, Message(images=(image,)), idempotency_key=idempotency_key)

    def messages(self, channel_id: str | None = None) -> list[Message]:
        with self._lock:
            return [
                self.entries[i].message
                for i in self.order
                if channel_id is None or self.entries[i].channel_id == channel_id
            ]

    def _save_images(self, message_id: str, message: Message) -> None:
        if not self.image_dir:
            return
        for n, image in enumerate(message.images):
            if image.png:
                self.image_dir.mkdir(parents=True, exist_ok=True)
                (self.image_dir / f"{message_id}-{n}-{image.filename}").write_bytes(image.png)

    def _print(self, channel_id: str, message: Message, *, updated: bool) -> None:
        if self.echo is None:
            return
        text = render_text(message, updated=updated)
        print(f"\n#{channel_id}\n{text}", file=self.echo, flush=True)


def stdout_port(image_dir: Path | None = None) -> ConsolePort:
    return ConsolePort(echo=sys.stdout, image_dir=image_dir)
