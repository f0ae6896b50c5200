"""The sentiment files and model as an installed bot finds them, in real `crisisbot` processes (twelfth audit):

- the risk terms and the user dictionary were read only from `<repository>/config/sentiment/`: a bot run
  from its own folder with its own config/ (or with CRISISBOT_CONFIG) silently ignored its own files, and a
  normal install (no repository beside the package) had no risk terms at all;
- `train` without `--out` copied the shipped model to `model.npz.bak` before training and overwrote that
  backup each time: a failed run, or a second run, replaced the backup of the real model with a tiny one.

The install is simulated by a copy of the `bot` package in a temporary folder, first on PYTHONPATH: the
repository's own model file is never written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
NEW_TERM = "紫色警报"  # no shipped risk term is in it


def _env(**extra: str) -> dict[str, str]:
    """This checkout's `bot` first on the path (whatever the installed one), no CRISISBOT_CONFIG unless given."""
    env = {k: v for k, v in os.environ.items() if k != "CRISISBOT_CONFIG"}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def _crisisbot(args: list[str], *, cwd: Path, env: dict[str, str], stdin: str | None = None):
    return subprocess.run([sys.executable, "-m", "bot.cli", "sentiment", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def _own_config(folder: Path) -> Path:
    """A bot folder's config/: crisisbot.yaml and sentiment/risk_terms.yaml with one more term."""
    sentiment = folder / "config" / "sentiment"
    sentiment.mkdir(parents=True)
    (folder / "config" / "crisisbot.yaml").write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    terms = (REPO / "config" / "sentiment" / "risk_terms.yaml").read_text(encoding="utf-8")
    (sentiment / "risk_terms.yaml").write_text(terms + f"{NEW_TERM}: exposure\n", encoding="utf-8")
    return folder / "config" / "crisisbot.yaml"


def _flags(done) -> list[dict]:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])["risk_flags"]


def test_the_bots_own_config_folder_supplies_the_risk_terms(tmp_path):
    site = tmp_path / "site"
    _own_config(site)
    flags = _flags(_crisisbot(["score", f"又是{NEW_TERM}，我要投诉", "--json"], cwd=site, env=_env()))
    assert {"term": NEW_TERM, "category": "exposure"} in flags
    assert {"term": "投诉", "category": "complaint"} in flags
    # the same folder named by CRISISBOT_CONFIG, the command run elsewhere
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = site / "config" / "crisisbot.yaml"
    flags = _flags(_crisisbot(["score", f"{NEW_TERM}", "--json"], cwd=elsewhere,
                              env=_env(CRISISBOT_CONFIG=str(config))))
    assert {"term": NEW_TERM, "category": "exposure"} in flags
    # and not without it
    assert _flags(_crisisbot(["score", f"{NEW_TERM}", "--json"], cwd=elsewhere, env=_env())) == []


def test_the_bots_own_user_dictionary_is_the_one_loaded(tmp_path):
    site = tmp_path / "site"
    _own_config(site)
    (site / "config" / "sentiment" / "userdict.txt").write_text("蓝莓果酱面包 100 n\n", encoding="utf-8")
    probe = ("from bot.sentiment.features import default_userdict_path, shared_tokenizer;"
             "print(default_userdict_path()); print('|'.join(shared_tokenizer().lcut('买了蓝莓果酱面包')))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=site, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    path, tokens = done.stdout.strip().splitlines()
    assert Path(path).resolve() == (site / "config" / "sentiment" / "userdict.txt").resolve()
    assert "蓝莓果酱面包" in tokens.split("|")


def _installed_copy(tmp_path: Path) -> Path:
    """The `bot` package alone in a folder with no config/ anywhere near it (as in site-packages)."""
    lib = tmp_path / "install" / "lib"
    shutil.copytree(REPO / "bot", lib / "bot", ignore=shutil.ignore_patterns("__pycache__", "*.bak"))
    return lib


def test_an_install_without_the_repository_still_has_the_default_risk_terms_and_dictionary(tmp_path):
    lib = _installed_copy(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    env = _env(PYTHONPATH=str(lib))
    flags = _flags(_crisisbot(["score", "再不退款我就去投诉", "--json"], cwd=work, env=env))
    assert {"term": "投诉", "category": "complaint"} in flags and {"term": "退款", "category": "refund"} in flags
    probe = ("import bot; from bot.sentiment.features import default_userdict_path;"
             "from bot.sentiment.risk import default_risk_terms_path;"
             "print(bot.__file__); print(default_userdict_path()); print(default_risk_terms_path())")
    done = subprocess.run([sys.executable, "-c", probe], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    package, userdict, terms = (Path(line) for line in done.stdout.strip().splitlines())
    assert package.is_relative_to(lib)  # the copy, not the repository, was imported
    assert userdict == lib / "bot" / "sentiment" / "data" / "userdict.txt"
    assert terms == lib / "bot" / "sentiment" / "data" / "risk_terms.yaml"


@pytest.mark.slow
def test_train_without_out_keeps_every_replaced_model_and_a_failed_run_touches_nothing(tmp_path):
    lib = _installed_copy(tmp_path)
    data_dir = lib / "bot" / "sentiment" / "data"
    model = data_dir / "model.npz"
    original = model.read_bytes()
    work = tmp_path / "work"
    work.mkdir()
    env = _env(PYTHONPATH=str(lib))
    good = work / "good.csv"
    good.write_text("text,label\n太好了,pos\n很喜欢,pos\n推荐购买,pos\n太差了,neg\n垃圾,neg\n失望透顶,neg\n",
                    encoding="utf-8")
    bad = work / "bad.csv"
    bad.write_text("text,label\n太好了,pos\n很喜欢,pos\n", encoding="utf-8")

    def backups() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in data_dir.iterdir() if p.name.endswith(".bak")}

    failed = _crisisbot(["train", "--data", str(bad)], cwd=work, env=env)
    assert failed.returncode == 2, failed.stderr
    assert "错误 / error: " in failed.stderr and "Traceback" not in failed.stderr
    assert model.read_bytes() == original and backups() == {}  # nothing copied for a run that failed

    first = _crisisbot(["train", "--data", str(good)], cwd=work, env=env)
    assert first.returncode == 0, first.stderr
    trained = model.read_bytes()
    assert trained != original and backups() == {"model.npz.bak": original}
    assert "model.npz.bak" in first.stderr  # where the old model went

    again = _crisisbot(["train", "--data", str(bad)], cwd=work, env=env)
    assert again.returncode == 2 and model.read_bytes() == trained and len(backups()) == 1

    second = _crisisbot(["train", "--data", str(good)], cwd=work, env=env)
    assert second.returncode == 0, second.stderr
    kept = backups()
    assert kept["model.npz.bak"] == original  # the real model's backup is never overwritten
    [newer] = [name for name in kept if name != "model.npz.bak"]
    assert newer.startswith("model.") and newer.endswith(".npz.bak") and kept[newer] == trained
    assert newer in second.stderr
    assert (REPO / "bot" / "sentiment" / "data" / "model.npz").stat().st_size == len(original)
