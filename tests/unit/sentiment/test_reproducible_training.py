"""`crisisbot sentiment train` trains pinned (one thread, portable CPU kernels), whatever the caller's
environment, so the same command gives the same model file on another machine (MODEL_CARD.md)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from bot.sentiment.cli import app as sentiment_app
from bot.sentiment.reproducible import PINNED_MARK, pinned_env

POS = ["很好用，推荐", "质量不错，喜欢", "物流快，满意", "太棒了，回购"]
NEG = ["太差了，退款", "质量很差，失望", "客服不理人，垃圾", "过敏了，别买"]
NEU = ["今天几点直播", "这个多少钱", "在哪里买"]
BINARY_POS = ["太好看了，爱了", "支持，做得真棒", "服务很好，下次还来", "好评，物流快"]
BINARY_NEG = ["垃圾，退款！", "太差了，再也不买", "骗子公司，投诉", "坑人，避雷"]


def test_the_pinned_environment_takes_effect_in_a_fresh_process():
    probe = (
        "import json, numpy; from threadpoolctl import threadpool_info;"
        "from numpy._core._multiarray_umath import __cpu_features__, __cpu_dispatch__;"
        "print(json.dumps({'blas': [(i['architecture'], i['num_threads']) for i in threadpool_info()"
        " if i['user_api'] == 'blas'], 'openmp': [i['num_threads'] for i in threadpool_info()"
        " if i['user_api'] == 'openmp'], 'numpy_dispatch': [k for k in __cpu_dispatch__ if __cpu_features__[k]]}))"
    )
    env = {**os.environ, **pinned_env()}
    out = json.loads(subprocess.run([sys.executable, "-c", f"import sklearn; {probe}"], env=env, check=True,
                                    capture_output=True, text=True).stdout)
    assert out["blas"] and all(threads == 1 for _, threads in out["blas"])
    assert all(threads == 1 for threads in out["openmp"])
    if platform.machine().lower() in ("x86_64", "amd64"):
        assert {arch for arch, _ in out["blas"]} == {"Nehalem"}
        assert out["numpy_dispatch"] == []


@pytest.mark.slow
def test_train_gives_the_same_bytes_from_differently_tuned_callers(tmp_path):
    """Also what test_sentiment_cli's "train is deterministic, eval compares models" checked with two more
    trainings of its own: training on two files at once (the second one given after the first, as an extra
    argument, and labelled 1/0) gives the same bytes every time, and `eval` compares the models it made."""
    data = tmp_path / "tiny_3class.csv"
    rows = [(t, "pos") for t in POS] + [(t, "neg") for t in NEG] + [(t, "neu") for t in NEU]
    data.write_text("text,label\n" + "".join(f"{t},{g}\n" for t, g in rows), encoding="utf-8")
    binary = tmp_path / "tiny_binary.csv"
    binary.write_text("text,label\n" + "".join(f"{t},{g}\n" for t, g in [(t, "1") for t in BINARY_POS]
                                                + [(t, "0") for t in BINARY_NEG]), encoding="utf-8")
    # unpinned, each of these gives other bytes on a 2-core x86-64 machine (measured)
    callers = [{}, {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}]
    if platform.machine().lower() in ("x86_64", "amd64"):
        callers.append({"OPENBLAS_CORETYPE": "Haswell"})
    outputs = []
    for n, extra in enumerate(callers):
        env = {k: v for k, v in os.environ.items() if k != PINNED_MARK}
        env.update(extra)
        out = tmp_path / f"m{n}.npz"
        done = subprocess.run([sys.executable, "-m", "bot.cli", "sentiment", "train", "--data", str(data), str(binary),
                               "--out", str(out)], env=env, check=True, capture_output=True, text=True)
        assert f"MB, {len(rows) + len(BINARY_POS) + len(BINARY_NEG)} rows)" in done.stdout  # both files went in
        outputs.append(out.read_bytes())
    assert all(o == outputs[0] for o in outputs[1:])
    result = CliRunner().invoke(sentiment_app, ["eval", str(binary), "--json", "--model", str(tmp_path / "m0.npz"),
                                                "--model", str(tmp_path / "m1.npz")])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(payload["models"]) == 2
    assert payload["models"][0]["accuracy"] == payload["models"][1]["accuracy"]
