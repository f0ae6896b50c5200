"""`serve --console` (`make run`) in a terminal: INFO log lines ("report … queued", "retention purge") printed
in English between the console's messages. There, the log shows warnings and errors only; a log going
elsewhere (a file) keeps INFO, and CRISISBOT_LOG_LEVEL set by the user still wins."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
# what `crisisbot serve` does first: settings, config and the log, for serve --console (or --demo) or not
SNIPPET = """
import logging, sys
from bot.cli import _load
_load(serving=True, console_in_terminal=sys.argv[1] == "console")
logging.getLogger("bot.reports.service").info("report lanji-daily queued")
logging.getLogger("bot.reports.service").warning("scheduled report failed")
"""


def serve_log(tmp_path: Path, mode: str, *, to_terminal: bool, **env: str) -> str:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **env}
    if "CRISISBOT_LOG_LEVEL" not in env:  # the default, unless the test sets it
        environment.pop("CRISISBOT_LOG_LEVEL", None)
    if not to_terminal:
        result = subprocess.run([sys.executable, "-c", SNIPPET, mode], cwd=tmp_path, env=environment,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stderr
    parent, child = pty.openpty()
    try:
        process = subprocess.run([sys.executable, "-c", SNIPPET, mode], cwd=tmp_path, env=environment,
                                 stdout=subprocess.DEVNULL, stderr=child, timeout=60)
        os.close(child)
        child = -1
        chunks = []
        while True:
            try:
                chunk = os.read(parent, 4096)
            except OSError:  # the child side is closed: everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if child >= 0:
            os.close(child)
        os.close(parent)
    assert process.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(not hasattr(pty, "openpty"), reason="needs a pseudo-terminal")
def test_serve_console_in_a_terminal_logs_warnings_only(tmp_path):
    log = serve_log(tmp_path, "console", to_terminal=True)
    assert "scheduled report failed" in log
    assert "report lanji-daily queued" not in log


@pytest.mark.skipif(not hasattr(pty, "openpty"), reason="needs a pseudo-terminal")
def test_the_log_level_the_user_sets_still_wins(tmp_path):
    log = serve_log(tmp_path, "console", to_terminal=True, CRISISBOT_LOG_LEVEL="INFO")
    assert "report lanji-daily queued" in log


def test_a_log_going_elsewhere_or_serve_without_the_console_keeps_info(tmp_path):
    assert "report lanji-daily queued" in serve_log(tmp_path, "console", to_terminal=False)
    if hasattr(pty, "openpty"):
        assert "report lanji-daily queued" in serve_log(tmp_path, "plain", to_terminal=True)
