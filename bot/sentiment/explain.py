"""How one scored text reads to a person: label in words, both probabilities, reasons, risk terms.

Pure (no I/O). Shared by `crisisbot sentiment score` in a narrow terminal (a six-column table there cuts
every text to a few characters) and by `/sentiment score` in chat.
"""

from __future__ import annotations

from bot.sentiment.base import SentimentResult

LABEL_ZH = {"neg": "负面", "neu": "中性", "pos": "正面", None: "未打分"}
# The categories of config/sentiment/risk_terms.yaml; a team's own category is shown as written.
RISK_CATEGORY_ZH = {
    "rights": "维权", "complaint": "投诉举报", "legal": "法律", "refund": "退款", "fraud": "欺诈",
    "safety": "安全", "exposure": "曝光/舆情", "account": "账号处置", "quality": "质量",
}


def label_words(label: str | None) -> str:
    """"负面 neg": the label as people read it, then as machines and the docs write it."""
    return f"{LABEL_ZH.get(label, label)} {label or '-'}"


def risk_words(result: SentimentResult) -> str:
    """"投诉（投诉举报 complaint）、退款（退款 refund）", or "" without risk terms."""
    return "、".join(
        f"{flag.term}（{RISK_CATEGORY_ZH.get(flag.category, flag.category)} {flag.category}）"
        for flag in result.risk_flags
    )


def explain_lines(text: str, result: SentimentResult, *, preview_chars: int = 200) -> list[str]:
    """The lines that explain one result, Chinese first; the text is quoted (cut after `preview_chars`)."""
    shown = " ".join(text.split())
    if len(shown) > preview_chars:
        shown = shown[: preview_chars - 1] + "…"
    probabilities = f"P(正面 pos) {result.score:.3f}"
    if result.neg_score is not None:
        probabilities += f" · P(负面 neg) {result.neg_score:.3f}"
    lines = [f"> {shown or '（空 / empty）'}", f"{label_words(result.label)} · {probabilities}"]
    if result.reasons:
        lines.append("理由 / reasons：" + "；".join(result.reasons))
    risks = risk_words(result)
    if risks:
        lines.append("风险词 / risk terms：" + risks)
    return lines
