"""Which buttons need input before their action runs, and what that input is: shared by the adapters.

Slack asks in a modal (slack/render.build_modal), Feishu in a form on the card itself (feishu/cards); both
hand the typed or chosen values over in `Action.form` under the same keys, so handlers stay platform-neutral.
A form speaks the language of the channel it is shown in (config `language`, per channel or global): Chinese
first with English beside it, or English alone in a channel set to English; its keys are the same in both.
Pure data and lookups: no platform payloads here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FormSpec:
    kind: str  # "text" | "label" (a choice of LABEL_OPTIONS) | "user" (a person)
    key: str  # the key in Action.form
    title: str
    label: str
    placeholder: str = ""
    optional: bool = False
    lang: str = "zh"  # the language of its words: "zh" (Chinese first with English) or "en" (English alone)


# By the button's verb: the word after the action_id's last "." and before any ":" (so "crisis.skip",
# "reply.skip:42" and "playbook.step.skip" are all "skip"). Keys match what the handlers read.
FORM_SPECS: dict[str, FormSpec] = {
    "skip": FormSpec("text", "reason", "跳过 / Skip", "跳过原因 / Reason", "例如：已由客服私信处理"),
    "cancel": FormSpec("text", "reason", "取消 / Cancel", "取消原因 / Reason", "例如：误报"),
    "reject": FormSpec("text", "reason", "驳回 / Reject", "驳回原因（可选）/ Reason (optional)", optional=True),
    "relabel": FormSpec("label", "label", "更正情感 / Relabel", "正确的情感 / Correct label"),
    "assign": FormSpec("user", "user", "指派 / Assign", "指派给 / Assign to"),
    "replied": FormSpec("text", "text", "已回复 / Replied", "回复内容（可选）/ Reply text (optional)", optional=True),
}
# The same forms in a channel set to English.
FORM_SPECS_EN: dict[str, FormSpec] = {
    "skip": FormSpec("text", "reason", "Skip", "Reason", "e.g. Support already answered by direct message", lang="en"),
    "cancel": FormSpec("text", "reason", "Cancel", "Reason", "e.g. false alarm", lang="en"),
    "reject": FormSpec("text", "reason", "Reject", "Reason (optional)", optional=True, lang="en"),
    "relabel": FormSpec("label", "label", "Relabel", "Correct label", lang="en"),
    "assign": FormSpec("user", "user", "Assign", "Assign to", lang="en"),
    "replied": FormSpec("text", "text", "Replied", "Reply text (optional)", optional=True, lang="en"),
}
# Whole action-id prefixes whose verb alone is ambiguous ("done" finishes a playbook step at once).
FORM_SPECS_BY_PREFIX: dict[str, FormSpec] = {
    "reply.done": FORM_SPECS["replied"],
}
LABEL_OPTIONS = (("neg", "负面 / negative"), ("neu", "中性 / neutral"), ("pos", "正面 / positive"))
LABEL_OPTIONS_EN = (("neg", "negative"), ("neu", "neutral"), ("pos", "positive"))
# The words around a form: (Chinese first with English, English alone)
FORM_WORDS: dict[str, tuple[str, str]] = {
    "submit": ("提交 / Submit", "Submit"),
    "close": ("取消 / Cancel", "Cancel"),
    "blank": ("请填写内容（不能只有空格）/ Please fill this in", "Please fill this in"),
}


def action_verb(action_id: str) -> str:
    """'reply.skip:42' -> 'skip'; 'crisis.assign' -> 'assign'."""
    return action_id.rsplit(".", 1)[-1].split(":", 1)[0].lower()


def form_spec_for(action_id: str, lang: str = "zh") -> FormSpec | None:
    """The form a button needs before its action runs (None: the button acts at once), worded for a channel
    of language `lang`."""
    head = action_id.split(":", 1)[0]
    spec = FORM_SPECS_BY_PREFIX.get(head) or FORM_SPECS.get(action_verb(action_id))
    if spec is None or lang != "en":
        return spec
    verb = next(verb for verb, known in FORM_SPECS.items() if known is spec)
    return FORM_SPECS_EN[verb]


def label_options(lang: str = "zh") -> tuple[tuple[str, str], ...]:
    """(value, text) of a relabel form's choices in the channel's language."""
    return LABEL_OPTIONS_EN if lang == "en" else LABEL_OPTIONS


def form_word(key: str, lang: str = "zh") -> str:
    """'提交 / Submit', or 'Submit' in a channel set to English (FORM_WORDS)."""
    zh, en = FORM_WORDS[key]
    return en if lang == "en" else zh
