"""Leave-one-source-out cross-check of the training recipe (numbers for MODEL_CARD.md).

For each social source, train on every other file (with the same options as `crisisbot sentiment train`)
and score the held-out source. A source is a group of files (binary and 3-class versions of one corpus
are held out together). Needs the `train` extra. Example:

    python -m bot.sentiment.tools.crosscheck --data-dir ../shared/data/sentiment --out loso.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bot.sentiment.metrics import compute_metrics
from bot.sentiment.model import CLASSES, LinearModel
from bot.sentiment.train import (
    TrainOptions,
    build_training_set,
    feature_matrix,
    featurizer_for,
    fit,
    model_meta,
    read_labeled_csv,
)

# training files of the shipped model, grouped by source; the first file of a group is what trains
TRAIN_GROUPS = {
    "weibo2018": ["weibo2018_train.csv"],
    "smp2020": ["smp2020_virus_3class.csv"],
    "douyin": ["douyin_gpt_aito_3class.csv"],
    "bili": ["bili_genshin_3class.csv"],
    "reviews": ["waimai_10k.csv", "online_shopping_10_cats.csv", "chnsenticorp_htl_all.csv",
                "chnsenticorp_baidu_train.csv"],
}
# what each held-out social source is scored on
TEST_FILES = {
    "weibo2018": ["weibo2018_test.csv", "weibo2018_train.csv"],
    "smp2020": ["smp2020_virus.csv", "smp2020_virus_3class.csv"],
    "douyin": ["douyin_gpt_aito.csv", "douyin_gpt_aito_3class.csv"],
    "bili": ["bili_genshin.csv", "bili_genshin_3class.csv"],
}


def training_files() -> list[str]:
    return [name for group in TRAIN_GROUPS.values() for name in group]


def main() -> None:
    from bot.sentiment.reproducible import rerun_pinned_unless_pinned

    rerun_pinned_unless_pinned("bot.sentiment.tools.crosscheck")  # the same figures on every machine
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--c", type=float, default=None)
    parser.add_argument("--file-cap", type=int, default=None)
    parser.add_argument("--binary-file-weight", type=float, default=None)
    parser.add_argument("--neg-threshold", type=float, default=None)
    parser.add_argument("--pos-threshold", type=float, default=None)
    parser.add_argument("--neg-over-neutral", type=float, default=None)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    options = TrainOptions()
    for key in ("c", "file_cap", "binary_file_weight", "neg_threshold", "pos_threshold",
                "neg_over_neutral"):
        if getattr(args, key) is not None:
            setattr(options, key, getattr(args, key))
    featurizer = featurizer_for(options)
    files = {name: read_labeled_csv(args.data_dir / name)
             for name in set(training_files()) | {f for fs in TEST_FILES.values() for f in fs}}
    started = time.perf_counter()
    report: dict[str, dict] = {}
    for held_out, test_names in TEST_FILES.items():
        if args.only and held_out not in args.only:
            continue
        train_files = [files[n] for g, names in TRAIN_GROUPS.items() if g != held_out for n in names]
        data = build_training_set(train_files, options)
        matrix = feature_matrix(featurizer, data.texts)
        weights, bias = fit(matrix, data.labels, data.weights, options, data.three_class)
        model = LinearModel(weights=weights.astype(np.float16), bias=bias, meta=model_meta(options))
        report[held_out] = {}
        for name in test_names:
            lf = files[name]
            proba = model.predict_proba(featurizer.featurize(lf.texts))
            metrics = compute_metrics(lf.labels, model.decide(proba), three_class=lf.three_class)
            report[held_out][name] = metrics
            if args.out:
                np.save(args.out.with_suffix(f".{name}.npy"), proba.astype(np.float32))
            print(held_out, name, json.dumps(metrics), f"{time.perf_counter() - started:.0f}s", flush=True)
    if args.out:
        args.out.write_text(json.dumps({"options": vars(options) | {"char_ngrams": list(options.char_ngrams)},
                                        "classes": CLASSES, "report": report}, indent=1))


if __name__ == "__main__":
    main()
