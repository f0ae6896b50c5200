"""A small test bot for /crisis: one-line commands through the real dispatcher, outbox and console."""

from __future__ import annotations

import itertools

from bot.messages import Action, Command, Message

_ids = itertools.count(1)


class CrisisDriver:
    def __init__(self, bot, channel: str = "console:lanji") -> None:
        self.bot = bot
        self.channel = channel

    @property
    def service(self):
        return self.bot.services.playbooks

    def run(self, text: str, user: str = "console:alice", channel: str | None = None) -> list[Message]:
        """Dispatch a command (with a fresh event id) and deliver the outbox; returns the direct replies."""
        command = Command(
            "console",
            channel or self.channel,
            user,
            text,
            user_name=user.partition(":")[2],
            event_id=f"ev{next(_ids)}",
        )
        replies = self.bot.dispatcher.handle(command)
        self.bot.services.outbox.deliver_due()
        return replies

    def text(self, text: str, **kw) -> str:
        return "\n".join(_flatten(m) for m in self.run(text, **kw))

    def press(
        self, action_id: str, value: str, user: str = "console:bob", form: dict | None = None
    ) -> list[Message]:
        action = Action(
            "console",
            self.channel,
            user,
            action_id,
            value,
            user_name=user.partition(":")[2],
            form=form or {},
            event_id=f"ev{next(_ids)}",
        )
        replies = self.bot.dispatcher.handle(action)
        self.bot.services.outbox.deliver_due()
        return replies

    def channel_messages(self) -> list[Message]:
        return self.bot.console.messages(self.channel.partition(":")[2])

    def card(self, run_id: int) -> Message:
        cards = [m for m in self.channel_messages() if m.meta.get("crisis_run") == run_id and m.fields]
        assert len(cards) == 1, f"expected one card for run {run_id}, got {len(cards)}"
        return cards[0]


def _flatten(message: Message) -> str:
    parts = [message.title or "", message.text]
    parts += [s.text for s in message.sections]
    parts += [f"{f.label}: {f.value}" for f in message.fields]
    return "\n".join(p for p in parts if p)


def flatten(message: Message) -> str:
    return _flatten(message)


def review_markdown(message: Message) -> str:
    """The whole review a report message carries as its file crisis-N-review.md (the text is a summary)."""
    (review,) = [f for f in message.files if f.name.endswith("-review.md")]
    return review.content.decode("utf-8")


def add_episode(db, key: str, detected_at) -> None:
    """An open sev2 alert episode of douyin:lanji_official, as the alert card's buttons find it."""
    from bot.alerts.models import AlertEpisode

    with db.session() as session:
        session.add(AlertEpisode(
            episode_key=key, platform="douyin", account_id="lanji_official", severity="sev2",
            started_at=detected_at, detected_at=detected_at, updated_at=detected_at,
            last_notified_at=detected_at, stats={}, channels={}, history=[],
        ))
