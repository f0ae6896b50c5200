"""Long-connection mode (CRISISBOT_FEISHU_MODE=ws): events arrive over lark.ws.Client, no public URL.

lark.ws.Client.start() blocks on an event loop that `lark_oapi.ws.client` creates at import time and
breaks inside an already running loop (upstream issues #119, #133). So it runs in a thread of its own
with a loop of its own, installed as that module's loop before the client is built; `stop()` closes the
connection and stops that loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from bot.adapters.feishu.settings import FeishuSettings

log = logging.getLogger(__name__)


def _card_aware_client_class(lark: Any) -> type:
    """lark.ws.Client that also answers card callbacks sent as "card" frames.

    lark-oapi 1.7.5 drops "card" frames without an answer (upstream issue #126), so a button click
    that the gateway delivers that way ends in Feishu's error 200340. Treat them like "event" frames:
    the dispatcher handles card.action.trigger and its toast goes back in the answer frame.
    """

    class CardAwareClient(lark.ws.Client):
        async def _handle_data_frame(self, frame: Any) -> None:
            for header in frame.headers:
                if header.key == "type" and header.value == "card":
                    header.value = "event"
            await super()._handle_data_frame(frame)

    return CardAwareClient


class LongConnection:
    """Runs lark.ws.Client for the given event handler in a daemon thread."""

    def __init__(self, settings: FeishuSettings, event_handler: Any) -> None:
        self.settings = settings
        self.event_handler = event_handler
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="feishu-ws", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        import lark_oapi as lark
        import lark_oapi.ws.client as ws_client

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        ws_client.loop = loop  # the SDK schedules everything on this module-level loop
        self.loop = loop
        try:
            self.client = _card_aware_client_class(lark)(
                self.settings.app_id,
                self.settings.app_secret,
                event_handler=self.event_handler,
                domain=self.settings.domain,
                log_level=lark.LogLevel.INFO,
            )
        finally:
            self._ready.set()
        try:
            self.client.start()
        except RuntimeError as exc:  # "Event loop stopped before Future completed": our stop()
            if not self._stopping:
                log.exception("feishu long connection stopped: %s", exc)
        except Exception:  # noqa: BLE001 - log it; the HTTP endpoint and the outbox keep working
            log.exception("feishu long connection failed (check FEISHU_APP_ID/SECRET and the domain)")
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            except RuntimeError:
                pass
            loop.close()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the connection and end the thread."""
        if not self.running or self.loop is None:
            return
        self._stopping = True
        client, loop = self.client, self.loop

        async def close() -> None:
            if client is not None:
                client._auto_reconnect = False  # no public switch: a closed socket would reconnect
                try:
                    await client._disconnect()
                except Exception:  # noqa: BLE001 - closing anyway
                    log.debug("feishu ws disconnect failed", exc_info=True)
            loop.stop()

        try:
            asyncio.run_coroutine_threadsafe(close(), loop)
        except RuntimeError:
            pass
        if self._thread is not None:
            self._thread.join(timeout)
