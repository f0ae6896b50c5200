"""Evaluation metrics for `crisisbot sentiment eval` and the model card (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence


def _f1(tp: int, fp: int, fn: int) -> float:
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def compute_metrics(gold: Sequence[str], pred: Sequence[str], *, three_class: bool) -> dict[str, float | int]:
    """Metrics of predictions (neg/neu/pos) against gold labels.

    Binary files (gold neg/pos): a `neu` prediction counts as "not negative", i.e. positive; accuracy and
    macro-F1 are over {neg, pos}. 3-class files: accuracy and macro-F1 over {neg, neu, pos}, plus
    `neutral_as_negative`, the share of gold-`neu` rows predicted `neg`. `neg_precision`/`neg_recall`
    treat neg against everything else in both cases. Macro-F1 leaves out a class that neither the gold
    labels nor the predictions contain.

    The values are full-precision floats, not rounded: `eval --json` promises metrics computed from exactly
    its `--predictions` rows, and a reader recomputing them from that file must get the same numbers
    (rounded to 4 decimals, 5/7 came out 0.7143). Round for display only.
    """
    if len(gold) != len(pred):
        raise ValueError("gold and pred differ in length")
    if not three_class:
        pred = ["neg" if p == "neg" else "pos" for p in pred]
        classes = ("neg", "pos")
    else:
        classes = ("neg", "neu", "pos")
    # macro-F1 averages the classes that occur in the gold labels or the predictions (as scikit-learn does):
    # a class absent from both has no F1 to speak of, and counting it as 0 put a perfect neg/pos-only file
    # written with words (read as 3-class) at macro-F1 0.667 next to accuracy 1.0
    classes = tuple(c for c in classes if c in gold or c in pred) or classes
    n = len(gold)
    correct = sum(1 for g, p in zip(gold, pred, strict=True) if g == p)
    f1s = []
    for cls in classes:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == cls and p == cls)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != cls and p == cls)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == cls and p != cls)
        f1s.append(_f1(tp, fp, fn))
    tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == "neg" and p == "neg")
    pred_neg = sum(1 for p in pred if p == "neg")
    gold_neg = sum(1 for g in gold if g == "neg")
    out: dict[str, float | int] = {
        "n": n,
        "accuracy": correct / n if n else 0.0,
        "macro_f1": sum(f1s) / len(f1s) if n else 0.0,
        "neg_precision": tp / pred_neg if pred_neg else 0.0,
        "neg_recall": tp / gold_neg if gold_neg else 0.0,
    }
    if three_class:
        neutral = [p for g, p in zip(gold, pred, strict=True) if g == "neu"]
        out["neutral_as_negative"] = sum(1 for p in neutral if p == "neg") / len(neutral) if neutral else 0.0
    return out


def confusion(gold: Sequence[str], pred: Sequence[str]) -> dict[str, dict[str, int]]:
    """{gold label: {predicted label: rows}} over neg/neu/pos, the raw predictions (a binary file's `neu`
    predictions stay visible here, although the metrics count them as positive)."""
    labels = ("neg", "neu", "pos")
    table = {g: dict.fromkeys(labels, 0) for g in labels}
    for g, p in zip(gold, pred, strict=True):
        if g in table and p in table[g]:
            table[g][p] += 1
    return {g: row for g, row in table.items() if sum(row.values())}
