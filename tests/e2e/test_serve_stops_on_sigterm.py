"""`crisisbot serve` stopped with SIGTERM (a deploy, `docker stop`, systemd) or SIGINT closes the bot and exits 0.

uvicorn stops gracefully on the signal and then raises it again with the handler it found: Python's default,
which killed the process on the spot (exit 143) before `bot.close()` ran, so the scheduler, the workers and the
feed leases were never closed (the next serve skipped each source for two minutes, "being polled by" the dead
process)."""

from __future__ import annotations

import signal

import pytest

from tests.support.serve_process import start_serve, stop, wait_until_listening

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_closes_and_exits_0_on_a_stop_signal(tmp_path, sig):
    server, base, log_path = start_serve(tmp_path)
    try:
        wait_until_listening(server, base, log_path, timeout=120)
        server.send_signal(sig)
        code = server.wait(60)
    finally:
        stop(server)
    text = log_path.read_text(encoding="utf-8")
    assert code == 0, text
    assert f"{sig.name} received; stopping" in text and text.rstrip().endswith("crisisbot 已停止 / stopped"), text
    assert "Traceback" not in text
