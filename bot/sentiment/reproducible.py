"""Training that gives the same model file on any x86-64 machine, not only on the one that trained it.

numpy, OpenBLAS and scikit-learn's OpenMP pick CPU-specific kernels (AVX2, AVX-512) and a thread count
when they load; their sums then differ in the last bits from machine to machine, L-BFGS carries that into
the weights, and float16 storage turns some of it into different bytes. (Measured: the v5 file, trained on
one machine, came out with another SHA-256 on a machine with another CPU; with 1 or 2 threads, or with the
Haswell or SkylakeX kernels, this machine gave three more.) So `crisisbot sentiment train` runs the
training in a child process started with one thread and portable kernels: SSE4.2 for OpenBLAS (Nehalem,
which every CPU numpy 2 runs on supports) and numpy's baseline code paths. These settings only take effect
before numpy is loaded, hence the child process. Elsewhere than x86-64 only the thread counts are pinned.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys

PINNED_MARK = "CRISISBOT_TRAIN_PINNED"


def _numpy_dispatch_features() -> list[str]:
    """The CPU features numpy may switch on at run time (AVX2, AVX-512 ...); disabling them all leaves
    the baseline code every machine runs."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core._multiarray_umath import __cpu_dispatch__
    return list(__cpu_dispatch__)


def pinned_env() -> dict[str, str]:
    """Environment variables that make training arithmetic the same on every machine of the architecture."""
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", PINNED_MARK: "1"}
    if platform.machine().lower() in ("x86_64", "amd64"):
        env["OPENBLAS_CORETYPE"] = "Nehalem"
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(_numpy_dispatch_features())
    return env


def in_pinned_process() -> bool:
    return os.environ.get(PINNED_MARK) == "1"


def run_pinned(module: str, args: list[str]) -> int:
    """Run `python -m module args` in a child process with the pinned environment; returns its exit code."""
    env = {**os.environ, **pinned_env()}
    return subprocess.call([sys.executable, "-m", module, *args], env=env)


def rerun_pinned_unless_pinned(module: str) -> None:
    """For the command-line tools that train (holdout, crosscheck): run again pinned, then exit."""
    if not in_pinned_process():
        raise SystemExit(run_pinned(module, sys.argv[1:]))
