"""Behaviour cases (negation, degree, emoji/[表情], sarcasm, questions, slang, mixed script ...) for the shipped
model: a retrain that breaks many of them fails here, with the list of what it broke."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sentiment import get_scorer

CASES = Path(__file__).parent / "data" / "behaviour.tsv"
ALLOWED_MISSES = 5  # v5 misses 2 ("呵呵" and "和图片完全不一样": neu); a retrain may trade a few, not many


def load_cases() -> list[tuple[str, str, str]]:
    rows = []
    for line in CASES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            want, phenomenon, text = line.split("\t")
            rows.append((want, phenomenon, text))
    return rows


def test_cases_file_is_well_formed():
    rows = load_cases()
    assert len(rows) >= 85
    assert {want for want, _, _ in rows} == {"neg", "neu", "pos"}
    assert {"negation", "degree", "emoji", "code", "sarcasm", "question", "mixed", "traditional"} <= {
        phenomenon for _, phenomenon, _ in rows}


@pytest.mark.slow
def test_behaviour_cases():
    rows = load_cases()
    results = get_scorer().score_batch([text for _, _, text in rows])
    misses = [f"{phenomenon}: {text!r} want {want}, got {result.label} ({', '.join(result.reasons)})"
              for (want, phenomenon, text), result in zip(rows, results, strict=True) if result.label != want]
    assert len(misses) <= ALLOWED_MISSES, "\n".join(misses)
