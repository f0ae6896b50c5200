"""Which buttons need input before their action runs, and what that input is: shared by the adapters.

Slack asks in a modal (slack/render.build_modal), Feishu in a form on the card itself (feishu/cards); both
hand the typed or chosen values over in `Action.form` under the same keys, so handlers stay platform-neutral.
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
# Whole action-id prefixes whose verb alone is ambiguous ("done" finishes a playbook step at once).
FORM_SPECS_BY_PREFIX: dict[str, FormSpec] = {
    "reply.done": FORM_SPECS["replied"],
}
LABEL_OPTIONS = (("neg", "负面 / negative"), ("neu", "中性 / neutral"), ("pos", "正面 / positive"))


def action_verb(action_id: str) -> str:
    """'reply.skip:42' -> 'skip'; 'crisis.assign' -> 'assign'."""
    return action_id.rsplit(".", 1)[-1].split(":", 1)[0].lower()


def form_spec_for(action_id: str) -> FormSpec | None:
    """The form a button needs before its action runs (None: the button acts at once)."""
    head = action_id.split(":", 1)[0]
    if head in FORM_SPECS_BY_PREFIX:
        return FORM_SPECS_BY_PREFIX[head]
    return FORM_SPECS.get(action_verb(action_id))
