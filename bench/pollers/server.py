"""The benchmark's platform: a Bilibili-shaped fake that grows by NEW_PER_POLL comments per poll.

Runs in its own process so the bot process's CPU figures exclude it.
"""

from __future__ import annotations

import threading
import time

NEW_PER_POLL = 20


def serve(port_queue, stop_event) -> None:  # runs in the server process
    from tests.fakes.platforms import FakeBilibili

    class GrowingBilibili(FakeBilibili):
        """Every first-page request adds NEW_PER_POLL newer comments to that video."""

        def __init__(self) -> None:
            super().__init__()
            self.next_rpid = 10_000_000
            self.grow_lock = threading.Lock()

        def handle(self, request):
            if request.path.endswith("/main") and request.params.get("next") in ("0", "1", None):
                oid = request.params.get("oid", "0")
                with self.grow_lock:
                    now = int(time.time())
                    for i in range(NEW_PER_POLL):
                        self.next_rpid += 1
                        self.add_reply(oid, self.next_rpid, mid=100 + i, uname=f"观众{i}",
                                       message=f"第{self.next_rpid}条评论,质量不错[doge]", ctime=now - NEW_PER_POLL + 1 + i)
                    # Keep memory flat: the poller never needs more than the newest pages.
                    self.replies[oid] = self.replies[oid][-60:]
            return super().handle(request)

    fake = GrowingBilibili().start()
    port_queue.put(fake.url)
    stop_event.wait()
    fake.stop()


