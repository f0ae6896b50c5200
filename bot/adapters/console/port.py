"""The console chat platform: channels are local transcripts, echoed to a terminal when asked.

A message's files (a review's Markdown) are written into `files_dir` and the transcript says where."""

from __future__ import annotations

import itertools
import logging
import os
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.adapters.console.render import default_files_dir, file_path, render_text
from bot.adapters.console.terminal import above_prompt, shows_styles, terminal_width, typed_so_far
from bot.messages import File, Image, Message

log = logging.getLogger(__name__)


@dataclass
class ConsoleEntry:
    message_id: str
    channel_id: str
    message: Message
    updates: int = 0


@dataclass
class ConsolePort:
    """ChatPort for `console:<channel>` addresses. Keeps the last `keep` messages so tests and the demo can
    read them (the console itself reads the database): kept for ever, a long-running serve grew by ~11 KB a
    message, ~15 MiB a day of reminders and notices (bench/soak)."""

    echo: TextIO | None = None
    image_dir: Path | None = None
    #: where a message's files (a review's Markdown) are written; None: `default_files_dir()`
    files_dir: Path | None = None
    platform: str = "console"
    keep: int = 1000
    entries: dict[str, ConsoleEntry] = field(default_factory=dict)
    order: deque[str] = field(default_factory=deque)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: the console prompt waiting for a line in the terminal `echo` writes to (`serve --console`), so that a
    #: message the outbox worker delivers meanwhile is written above it and the prompt again under it
    prompt: str | None = None
    #: that prompt is read by input() with readline on a terminal (what was typed so far is written again)
    interactive: bool = False
    _echo_lock: threading.RLock = field(default_factory=threading.RLock)
    #: the language of a channel ('zh' or 'en', config `language`, by its address 'console:<id>'), which the
    #: console's own notes in it speak (render_text); None: Chinese first with English everywhere
    language: Callable[[str], str] | None = None

    def show_prompt(self, prompt: str, *, out: TextIO | None = None, interactive: bool = False) -> None:
        """The REPL waits for a line at `prompt` (written to `out` here, if given: in one step with the
        messages, so none lands between the prompt and the note that it waits)."""
        with self._echo_lock:
            self.prompt = prompt
            self.interactive = interactive
            if out is not None:
                out.write(prompt)
                out.flush()

    def prompt_answered(self) -> None:
        with self._echo_lock:
            self.prompt = None

    def post(
        self, channel_id: str, message: Message, *, idempotency_key: str, maybe_sent_since: datetime | None = None
    ) -> str:
        # maybe_sent_since is ignored: an in-process call cannot lose its answer.
        with self._lock:
            message_id = f"console-{next(self._ids)}"
            self._remember(ConsoleEntry(message_id, channel_id, message))
        self._save_images(message_id, message)
        saved = self._save_files(message)
        self._print(channel_id, message, updated=False, saved_files=saved)
        return message_id

    def update(self, channel_id: str, message_id: str, message: Message) -> None:
        with self._lock:
            entry = self.entries.get(message_id)
            if entry is None:
                entry = self._remember(ConsoleEntry(message_id, channel_id, message))
            entry.message = message
            entry.updates += 1
        self._print(channel_id, message, updated=True)

    def upload(self, channel_id: str, image: Image, *, idempotency_key: str,
               maybe_sent_since: datetime | None = None) -> str:
        return self.post(channel_id, Message(images=(image,)), idempotency_key=idempotency_key)

    def upload_file(self, channel_id: str, file: File, *, idempotency_key: str,
                    maybe_sent_since: datetime | None = None) -> str:
        return self.post(channel_id, Message(files=(file,)), idempotency_key=idempotency_key)

    def _remember(self, entry: ConsoleEntry) -> ConsoleEntry:
        """Keep `entry`, forgetting the oldest beyond `keep` (the caller holds the lock)."""
        self.entries[entry.message_id] = entry
        self.order.append(entry.message_id)
        while len(self.order) > self.keep:
            self.entries.pop(self.order.popleft(), None)
        return entry

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

    def _save_files(self, message: Message) -> list[Path | None]:
        """Write the message's files into `files_dir` under their own names (a newer version of the same
        review replaces the older one); returns where each went. A file that cannot be written is said in
        the transcript instead of failing the message (its text is what the channel needs first)."""
        saved: list[Path | None] = []
        if not message.files:
            return saved
        folder = self.files_dir or default_files_dir()
        for file in message.files:
            target = file_path(folder, file.name)
            name = target.name
            try:
                folder.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{name}.", delete=False) as out:
                    out.write(file.content)
                os.replace(out.name, target)
            except OSError as exc:
                log.warning("console: cannot write %s into %s: %s", name, folder, exc)
                saved.append(None)
                continue
            saved.append(target)
        return saved

    def _print(self, channel_id: str, message: Message, *, updated: bool,
               saved_files: Sequence[Path | None] = ()) -> None:
        if self.echo is None:
            return
        lang = self.language(f"console:{channel_id}") if self.language else "zh"
        not_saved = "not saved" if lang == "en" else "未能保存 / not saved"
        shown = [str(p) if p else not_saved for p in saved_files]
        text = render_text(message, updated=updated, saved_files=shown, width=terminal_width(self.echo),
                           lang=lang, styled=shows_styles(self.echo))
        with self._echo_lock:
            typed = typed_so_far() if self.interactive and self.prompt is not None else ""
            self.echo.write(above_prompt(f"\n#{channel_id}\n{text}\n", self.prompt, interactive=self.interactive,
                                         typed=typed))
            self.echo.flush()


def stdout_port(image_dir: Path | None = None) -> ConsolePort:
    return ConsolePort(echo=sys.stdout, image_dir=image_dir)
