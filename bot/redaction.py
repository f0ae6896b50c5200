"""Finding and redacting one person's comments inside copies that other features kept (pure, no I/O).

A deletion request (PIPL) covers every copy of a person's comments, but most copies do not keep the
comment id: chat messages quote the text (often cut short), risk notices keep text and likes only.
`AuthorCopies` knows the person's comments (ids, texts, names) before they are deleted and answers
"does this quote them?" and "what is left once they are cut out?" for strings, lists and messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Shown where a quoted comment or name was cut out of a message the team still needs.
REDACTED = "〔已删除 / removed〕"

# Renderers quote a long comment cut short: 79 or 139 characters and "…", 30 in a run title, of the raw
# or the whitespace-collapsed text. Rather than mirror each limit, a cut quote is any prefix of at least
# MIN_CUT characters that ends the text, or is followed by "…" or by a non-word character. Shorter
# comments match only whole.
MIN_CUT = 20
ELLIPSES = ("…", "...")


@dataclass(frozen=True)
class PersonComment:
    platform: str
    comment_id: str
    text: str
    author_name: str | None = None


def _collapse(text: str) -> str:
    return " ".join(text.split())


# ---- where a name counts as naming the person (pure) ----------------------------------------------------
# Team-written text (run titles, notes, drafts, messages) is full of ordinary words, and display names
# often are ordinary words: cutting a two-character name such as "问题" wherever it occurs turned
# "批次质量问题排查" into "批次质量〔已删除 / removed〕排查". A short name therefore counts only where it
# stands as a reference to a person; a name of LONG_NAME characters or more is rarely a word people
# write by chance, and is written straight into Chinese text ("王小明您好"), so it matches anywhere.
# Quotes of their comments and references to their comment ids are found as before (below).
LONG_NAME = 3
_ASCII_WORD = "A-Za-z0-9_"
# (opening, closing) marks around a name quoted on its own: 「问题」, “问题”, "问题"
_QUOTE_PAIRS = (("「", "」"), ("『", "』"), ("“", "”"), ("‘", "’"), ('"', '"'), ("'", "'"), ("《", "》"))


def _ascii_guarded(name: str) -> str:
    # "Tom" must not match inside "Tomato"; Chinese around a Latin name ("Tom您好") is a boundary.
    head = rf"(?<![{_ASCII_WORD}])" if re.match(rf"[{_ASCII_WORD}]", name[0]) else ""
    tail = rf"(?![{_ASCII_WORD}])" if re.match(rf"[{_ASCII_WORD}]", name[-1]) else ""
    return head + re.escape(name) + tail


def _as_reference(name: str) -> str:
    n = re.escape(name)
    forms = [
        rf"(?<=[@＠]){n}(?!\w)",  # a mention: @问题
        *(rf"(?<={re.escape(a)}){n}(?={re.escape(b)})" for a, b in _QUOTE_PAIRS),  # the whole of a quote
        rf"(?<!\w){n}(?=\s*[:：])",  # a speaker or addressee: "问题：…"
        rf"(?<!\S){n}(?!\S)",  # a whole whitespace-delimited token: "> 评论 —— 问题"
    ]
    return "|".join(forms)


def name_pattern(names) -> re.Pattern | None:
    """Where one of `names` names the person in a text: anywhere for a long name, only as a reference
    (after @, quoted on its own, before a colon, or as a whole token) for a short one."""
    names = sorted({n for n in names if n}, key=lambda n: (-len(n), n))
    if not names:
        return None
    return re.compile("|".join(_ascii_guarded(n) if len(n) >= LONG_NAME else _as_reference(n) for n in names))


def _ref_pattern(ref: str) -> str:
    return rf"(?<![\w:-]){re.escape(ref)}(?![\w-])"


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"  # what \w matches: Chinese characters are word characters


def quote_variants(text: str) -> list[str]:
    """The forms in which a renderer may quote `text`: as stored (trimmed) and whitespace-collapsed."""
    return [v for v in dict.fromkeys((text.strip(), _collapse(text))) if v]


def quote_spans(text: str, variant: str) -> list[tuple[int, int]]:
    """Where `text` quotes `variant` whole, or cut short (see MIN_CUT), as (start, end) spans; a cut
    quote's "…" is part of its span."""
    head = variant[:MIN_CUT]
    spans = []
    start = text.find(head)
    while start >= 0:
        if start == 0 or not _is_word(text[start - 1]):
            k = len(head)
            while k < len(variant) and start + k < len(text) and text[start + k] == variant[k]:
                k += 1
            end = start + k
            rest = text[end:]
            if k == len(variant):
                if not rest or not _is_word(rest[0]):
                    spans.append((start, end))
            elif k >= MIN_CUT:
                ellipsis = next((e for e in ELLIPSES if rest.startswith(e)), "")
                if ellipsis or not rest or not _is_word(rest[0]):
                    spans.append((start, end + len(ellipsis)))
        start = text.find(head, start + 1)
    return spans


class AuthorCopies:
    """The person's comments, and the rules to find and cut them out of copies kept elsewhere."""

    def __init__(self, comments: Iterable[PersonComment]) -> None:
        self.comments = list(comments)
        self.comment_ids = {c.comment_id for c in self.comments}
        self.refs = {f"{c.platform}:{c.comment_id}" for c in self.comments}
        self.texts = {c.text for c in self.comments if c.text.strip()}
        self.names = {c.author_name.strip() for c in self.comments if c.author_name and c.author_name.strip()}
        self._variants = sorted({v for t in self.texts for v in quote_variants(t)}, key=lambda v: (-len(v), v))
        refs = sorted(self.refs, key=lambda r: (-len(r), r))
        self._ref = re.compile("|".join(_ref_pattern(r) for r in refs)) if refs else None
        self._name = name_pattern(self.names)  # where their name counts as naming them (see above)

    # ---- SQL pre-filters (a superset; the Python checks below decide) ------------------------------------
    def prefilter_needles(self) -> list[str]:
        """Substrings for a SQL `LIKE` pre-filter: every quote, ref and name contains one of them."""
        return sorted(set(self.refs) | {v[:MIN_CUT] for v in self._variants} | self.names)

    # ---- strings -------------------------------------------------------------------------------------------
    def _spans(self, text: str) -> list[tuple[int, int]]:
        spans = [span for v in self._variants for span in quote_spans(text, v)]
        if self._ref is not None:
            spans.extend(m.span() for m in self._ref.finditer(text))
        return spans

    def quotes(self, text: str | None) -> bool:
        """Whether `text` quotes one of the person's comments or names one by reference."""
        return bool(text) and bool(self._spans(text))  # type: ignore[arg-type]

    def names_them(self, text: str | None) -> bool:
        """Whether `text` holds the person's name (a reply addressing them, a note about them)."""
        return bool(text) and self._name is not None and self._name.search(text) is not None  # type: ignore[arg-type]

    def touches(self, text: str | None) -> bool:
        return self.quotes(text) or self.names_them(text)

    def redact(self, text: str) -> str:
        """`text` with the person's quoted comments, references and name cut out."""
        return self._cut(text) if self.touches(text) else text

    def _cut(self, text: str) -> str:
        merged: list[list[int]] = []
        for start, end in sorted(self._spans(text)):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        for start, end in reversed(merged):
            text = text[:start] + REDACTED + text[end:]
        if self._name is not None:
            text = self._name.sub(REDACTED, text)
        return text

    # ---- messages (the outbox payload, `Message.to_dict()`) --------------------------------------------
    def message_touches(self, payload: Any) -> bool:
        """Whether a message payload quotes the person, names them or refers to one of their comments."""
        return self.touches_json(payload)

    def redact_message(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A copy of a message payload without the person: quoted text and their name become REDACTED,
        their refs leave the buttons' values (a button left with none goes)."""
        return self.redact_json(payload)

    def touches_json(self, value: Any) -> bool:
        return any(self.touches(s) for s in _strings(value))

    def redact_json(self, value: Any) -> Any:
        """A copy of any JSON value (a message payload, event details) with every string redacted."""
        return _walk(value, self) if self.touches_json(value) else value

    # ---- structured copies ------------------------------------------------------------------------------
    def is_theirs(self, entry: dict[str, Any]) -> bool:
        """A top comment / example: theirs by its comment id, or by its exact text when it has none."""
        comment_id = entry.get("comment_id")
        if comment_id:
            return str(comment_id) in self.comment_ids
        return entry.get("text") in self.texts


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "png":  # base64 image bytes: no text to find, and large
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _walk(value: Any, copies: AuthorCopies, key: str | None = None) -> Any:
    if isinstance(value, str):
        return value if key == "png" else copies._cut(value)  # noqa: SLF001
    if isinstance(value, list):
        if key == "buttons":
            return [b for b in (_button(item, copies) for item in value) if b is not None]
        return [_walk(item, copies) for item in value]
    if isinstance(value, dict):
        return {k: _walk(v, copies, k) for k, v in value.items()}
    return value


def _button(button: Any, copies: AuthorCopies) -> Any:
    if not isinstance(button, dict) or not isinstance(button.get("value"), str):
        return _walk(button, copies)
    refs = [r.strip() for r in button["value"].split(",")]
    if any(r in copies.refs for r in refs):
        kept = [r for r in refs if r and r not in copies.refs]
        if not kept:
            return None  # e.g. "纠正情感" for their comments only: nothing left to press
        button = {**button, "value": ",".join(kept)}
    elif copies._ref is not None and copies._ref.search(button["value"]):  # noqa: SLF001
        return None  # a button acting on their comment alone (e.g. "改为负面": "douyin:c1 neg")
    return {k: (v if k == "value" else _walk(v, copies, k)) for k, v in button.items()}
