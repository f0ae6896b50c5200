"""`crisisbot serve` freezes its start-up heap (gc.freeze) before it serves its first request: a full garbage
collection over the start-up objects (lark-oapi's modules, the wiring) otherwise held the GIL ~240 ms during
serving, and every acknowledgement in flight waited behind it."""

from __future__ import annotations

import httpx
import pytest

from tests.support.serve_process import start_serve, stop, wait_until_listening

pytestmark = pytest.mark.slow


def test_serve_freezes_its_startup_heap_before_answering(tmp_path):
    server, base, log_path = start_serve(tmp_path, log_level="DEBUG")  # the freeze is logged at DEBUG
    try:
        wait_until_listening(server, base, log_path, timeout=120)
        # which variable chose the database is said at start (DATABASE_URL is read when no CRISISBOT_ one is)
        assert f"database: sqlite:///{tmp_path / 'bot.db'} (from CRISISBOT_DATABASE_URL)" in log_path.read_text()
        # the start (the lifespan, whose last hook freezes) is over before the first request is answered
        frozen = [line for line in log_path.read_text().splitlines() if "start-up heap frozen" in line]
        assert len(frozen) == 1, log_path.read_text()
        assert " DEBUG " in frozen[0]  # a detail for whoever measures start-up, not news at INFO
        assert int(frozen[0].split("frozen: ")[1].split()[0]) > 0
        assert httpx.get(base + "/healthz", timeout=10).status_code == 200
    finally:
        stop(server)
