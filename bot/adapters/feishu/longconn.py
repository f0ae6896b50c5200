"""Long-connection mode (CRISISBOT_FEISHU_MODE=ws): events arrive over lark.ws.Client, no public URL.

lark.ws.Client.start() blocks on an event loop that `lark_oapi.ws.client` creates at import time and
breaks inside an already running loop (upstream issues #119, #133). So it runs in a thread of its own
with a loop of its own, installed as that module's loop before the client is built; `stop()` closes the
connection and stops that loop.

Left to itself the SDK gives up for good on a refusal it deems final (a wrong app secret, the app disabled
or not released, too many connections: its `ClientException`) and after the reconnect count the gateway
allows: its `start()` raises, or its receive task dies while `start()` keeps waiting on nothing; and it
retries an unreachable gateway every 2 minutes with no word to us. Either way the bot could hear no event
until a restart. So the SDK's own reconnecting is off and the thread supervises the client instead: a client
that ended (refused, unreachable, or its connection lost) is replaced by a fresh one after a capped backoff
(5 s doubling to 5 min; from 5 s again after a connection that held a minute), for as long as the app runs;
the operator is told once per period what to check (Chinese first), and once when the connection is back.
`stop()` ends a connection or the wait for the next attempt at once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from typing import Any

from bot.adapters.feishu.settings import FeishuSettings

log = logging.getLogger(__name__)

INITIAL_BACKOFF_S = 5.0
MAX_BACKOFF_S = 300.0
LOG_EVERY_S = 600.0  # while the long connection keeps failing, say so at most this often (the first at once)
STABLE_S = 60.0  # a connection that held this long starts the backoff from the beginning again


class _ConnectionUrlHidden(logging.Filter):
    """lark-oapi logs its long connection's address at INFO ("connected to wss://msg-frontier.feishu.cn/ws/v2?
    …&access_key=…&ticket=…", and "disconnected to" it): that query string is the connection's credential, so
    it is cut from every line of the SDK's logger, which keeps the host and path."""

    _QUERY = re.compile(r"\b(wss?://[^\s?#]+)[?#]\S*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = self._QUERY.sub(r"\1?…", message)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


def _hide_connection_urls() -> None:
    # the SDK's logger (lark_oapi.core.log), and ours, which logs the SDK's errors
    for logger in (logging.getLogger("Lark"), log):
        if not any(isinstance(f, _ConnectionUrlHidden) for f in logger.filters):
            logger.addFilter(_ConnectionUrlHidden())


def _card_aware_client_class(lark: Any) -> type:
    """lark.ws.Client that also answers card callbacks sent as "card" frames, and reports its fate.

    lark-oapi 1.7.5 drops "card" frames without an answer (upstream issue #126), so a button click
    that the gateway delivers that way ends in Feishu's error 200340. Treat them like "event" frames:
    the dispatcher handles card.action.trigger and its toast goes back in the answer frame.

    `on_connected` is called after each successful connect. When the connection ends other than by our
    `stop()` (`closing`), the receive task would die while `start()` keeps waiting forever: instead the
    error is kept in `gave_up` and the loop stopped, so `start()` returns and the supervisor connects afresh.
    A loop stop that lands while `start()` still runs its connect step only ends that step (a connection
    closed at once, or `stop()` at that moment): the ping task, the first thing `start()` runs in its final
    wait, then sees `gave_up` or `closing` and stops the loop again.
    """

    class CardAwareClient(lark.ws.Client):
        on_connected: Any = None
        gave_up: BaseException | None = None
        closing = False

        async def _handle_data_frame(self, frame: Any) -> None:
            for header in frame.headers:
                if header.key == "type" and header.value == "card":
                    header.value = "event"
            await super()._handle_data_frame(frame)

        async def _connect(self) -> None:
            await super()._connect()
            if self._conn is not None and self.on_connected is not None:
                self.on_connected()

        async def _ping_loop(self) -> None:
            if self.gave_up is not None or self.closing:
                asyncio.get_running_loop().stop()
                return
            await super()._ping_loop()

        async def _receive_message_loop(self) -> None:
            try:
                await super()._receive_message_loop()
            except Exception as exc:  # noqa: BLE001 - whatever ended it, the supervisor decides what next
                if not self.closing:  # lost, not closed by our stop()
                    self.gave_up = exc
                    asyncio.get_running_loop().stop()

    return CardAwareClient


class LongConnection:
    """Runs lark.ws.Client for the given event handler in a daemon thread, reconnecting until stopped."""

    def __init__(
        self,
        settings: FeishuSettings,
        event_handler: Any,
        *,
        initial_backoff_s: float = INITIAL_BACKOFF_S,
        max_backoff_s: float = MAX_BACKOFF_S,
        log_every_s: float = LOG_EVERY_S,
    ) -> None:
        self.settings = settings
        self.event_handler = event_handler
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.log_every_s = log_every_s
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client: Any = None
        self.failures = 0  # consecutive clients that ended without (or after losing) a connection
        self.connections = 0  # successful connects, reconnects included
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # a client is never started after stop() looked for one to close
        self._active = False  # a client is in start(): stop() must close it
        self._logged_at: float | None = None  # when the last loud line about failures was written
        self._told_back = False  # the operator heard the connection is back since that line
        self._connected_at: float | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._ready.clear()
        self.failures = 0
        self._logged_at = None
        self._thread = threading.Thread(target=self._run, name="feishu-ws", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        import lark_oapi as lark
        import lark_oapi.ws.client as ws_client

        _hide_connection_urls()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        ws_client.loop = loop  # the SDK schedules everything on this module-level loop
        self.loop = loop
        client_class = _card_aware_client_class(lark)
        try:
            while True:
                with self._lock:
                    if self._stop.is_set():
                        break
                    try:
                        self.client = client_class(
                            self.settings.app_id,
                            self.settings.app_secret,
                            event_handler=self.event_handler,
                            domain=self.settings.domain,
                            log_level=lark.LogLevel.INFO,
                            auto_reconnect=False,  # reconnecting is ours: capped backoff, told to the operator
                        )
                        self.client.on_connected = self._on_connected
                        self._connected_at = None
                        self._active = True
                    finally:
                        self._ready.set()
                error = self._run_client(loop)
                with self._lock:
                    self._active = False
                if self._stop.is_set():
                    break
                if self._connected_at is not None and time.monotonic() - self._connected_at >= STABLE_S:
                    self.failures = 0  # a good connection was lost: start the backoff over ...
                    self._logged_at = None  # ... and say so at once if it does not come back
                self.failures += 1
                delay = min(self.max_backoff_s, self.initial_backoff_s * 2 ** min(self.failures - 1, 30))
                self._report(error, delay)
                self._stop.wait(delay)
        except Exception:  # noqa: BLE001 - a bug here must not pass silently; the HTTP side keeps working
            log.exception("feishu long connection supervisor crashed; events over the long connection stop")
        finally:
            self._ready.set()
            self._cancel_tasks(loop)
            loop.close()

    def _run_client(self, loop: asyncio.AbstractEventLoop) -> BaseException | None:
        """Run one client until it ends; what ended it (None: it returned, which it should not)."""
        client = self.client
        try:
            client.start()
            return None
        except RuntimeError as exc:  # "Event loop stopped before Future completed": stop() or gave_up
            return client.gave_up or exc
        except Exception as exc:  # noqa: BLE001 - refused credentials, gateway unreachable ...
            return exc
        finally:
            self._cancel_tasks(loop)

    @staticmethod
    def _cancel_tasks(loop: asyncio.AbstractEventLoop) -> None:
        """Cancel what the ended client left on the loop (ping, receive, cache cron) before the next one."""
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        except RuntimeError:
            pass

    def _on_connected(self) -> None:
        self.connections += 1
        self._connected_at = time.monotonic()
        if self.failures and self._logged_at is not None and not self._told_back:
            self._told_back = True
            log.warning("飞书长连接已恢复（此前连续失败 %d 次）/ feishu long connection is back after %d failed "
                        "attempt(s)", self.failures, self.failures)

    def _report(self, error: BaseException | None, delay: float) -> None:
        now = time.monotonic()
        if self.failures == 1 and self._connected_at is not None:  # a working connection dropped: reconnect
            log.warning("飞书长连接断开（%s），%.0f 秒后重连 / feishu long connection lost (%s); reconnecting in %.0f s",
                        _describe(error), delay, _describe(error), delay)
            return
        if self._logged_at is not None and now - self._logged_at < self.log_every_s:
            log.debug("feishu long connection attempt %d failed (%s); retrying in %.0f s", self.failures, error, delay)
            return
        self._logged_at = now
        self._told_back = False
        log.error(
            "飞书长连接已断开且无法连上（第 %d 次，%s），长连接事件（命令、按钮）暂时收不到；%.0f 秒后重试，最长每 %.0f 秒一次，"
            "直到连上或 crisisbot 停止。请检查 FEISHU_APP_ID / FEISHU_APP_SECRET（改了需重启）、应用是否已发布并启用、"
            "「事件与回调」是否选择了长连接，以及 CRISISBOT_FEISHU_DOMAIN / feishu long connection is down and cannot "
            "connect (attempt %d: %s): no commands or button presses arrive over it; retrying in %.0f s, at most every "
            "%.0f s, until it connects or crisisbot stops. Check FEISHU_APP_ID / FEISHU_APP_SECRET (a change needs a "
            "restart), that the app is released and enabled, that events use the long connection, and "
            "CRISISBOT_FEISHU_DOMAIN",
            self.failures, _describe(error), delay, self.max_backoff_s,
            self.failures, _describe(error), delay, self.max_backoff_s,
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Close the connection, end any wait for the next attempt, and end the thread."""
        if not self.running:
            return
        with self._lock:
            self._stop.set()
            client, loop = (self.client, self.loop) if self._active else (None, None)
        if client is not None and loop is not None and not loop.is_closed():

            async def close() -> None:
                client.closing = True
                try:
                    await client._disconnect()
                except Exception:  # noqa: BLE001 - closing anyway
                    log.debug("feishu ws disconnect failed", exc_info=True)
                asyncio.get_running_loop().stop()

            try:
                # Runs as soon as the client's loop runs; between attempts the stop flag alone ends the thread.
                asyncio.run_coroutine_threadsafe(close(), loop)
            except RuntimeError:  # the loop closed meanwhile
                pass
        if self._thread is not None:
            self._thread.join(timeout)


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "the client ended"
    return f"{type(error).__name__}: {error}"
