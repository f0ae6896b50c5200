"""In-source held-out check of the training recipe (section 1 of MODEL_CARD.md).

Every 10th row (row index % 10 == 0) of each social training file is held out: those texts are removed
from every training file, the recipe (same options as `crisisbot sentiment train`) is trained on the rest,
and the held-out rows are scored, plus weibo2018_test.csv (never trained on). For 3-class files the
neg/pos rows are also scored as a binary set ("bin": a `neu` prediction counts as not-negative), the way
`crisisbot sentiment eval` scores binary files. Needs the `train` extra. Example:

    python -m bot.sentiment.tools.holdout --data-dir ../shared/data/sentiment --out holdout.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from bot.sentiment.metrics import compute_metrics
from bot.sentiment.model import LinearModel
from bot.sentiment.tools.crosscheck import TRAIN_GROUPS, training_files
from bot.sentiment.train import (
    TrainOptions,
    build_training_set,
    feature_matrix,
    featurizer_for,
    fit,
    model_meta,
    read_labeled_csv,
)

SOCIAL_TRAIN = [name for group, names in TRAIN_GROUPS.items() if group != "reviews" for name in names]
EXTRA_TEST = ["weibo2018_test.csv"]


def main() -> None:
    from bot.sentiment.reproducible import rerun_pinned_unless_pinned

    rerun_pinned_unless_pinned("bot.sentiment.tools.holdout")  # the same figures on every machine
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    options = TrainOptions()
    featurizer = featurizer_for(options)
    files = [read_labeled_csv(args.data_dir / name) for name in training_files()]
    held: dict[str, tuple[list[str], list[str], bool]] = {}
    for lf in files:
        if lf.name in SOCIAL_TRAIN:
            rows = [(t, g) for i, (t, g) in enumerate(zip(lf.texts, lf.labels, strict=True))
                    if i % 10 == 0 and t.strip()]
            held[lf.name] = ([t for t, _ in rows], [g for _, g in rows], lf.three_class)
    held_texts = {t for texts, _, _ in held.values() for t in texts}
    train_files = []
    for lf in files:
        keep = [i for i, t in enumerate(lf.texts) if t not in held_texts]
        train_files.append(dataclasses.replace(lf, texts=[lf.texts[i] for i in keep],
                                               labels=[lf.labels[i] for i in keep]))
    started = time.perf_counter()
    data = build_training_set(train_files, options)
    weights, bias = fit(feature_matrix(featurizer, data.texts), data.labels, data.weights, options,
                        data.three_class)
    model = LinearModel(weights=weights.astype(np.float16), bias=bias, meta=model_meta(options))
    for name in EXTRA_TEST:
        lf = read_labeled_csv(args.data_dir / name)
        held[name] = (lf.texts, lf.labels, lf.three_class)
    report: dict[str, dict] = {}
    for name in EXTRA_TEST + SOCIAL_TRAIN:
        texts, gold, three = held[name]
        pred = model.decide(model.predict_proba(featurizer.featurize(texts)))
        report[name] = compute_metrics(gold, pred, three_class=three)
        print(name, json.dumps(report[name]), f"{time.perf_counter() - started:.0f}s", flush=True)
        if three:
            pairs = [(g, p) for g, p in zip(gold, pred, strict=True) if g != "neu"]
            report[name + " bin"] = compute_metrics([g for g, _ in pairs], [p for _, p in pairs], three_class=False)
            print(name + " bin", json.dumps(report[name + " bin"]), flush=True)
    if args.out:
        args.out.write_text(json.dumps({"options": dataclasses.asdict(options), "report": report}, indent=1))


if __name__ == "__main__":
    main()
