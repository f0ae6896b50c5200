"""Turns the Feishu adapter on when its credentials are set: routes, the chat port, background clients.

On exactly when FEISHU_APP_ID and FEISHU_APP_SECRET are set. lark-oapi (about 1.7 s and 160 MiB to
import) is imported only then.
- the chat port (im.v1 through lark.Client, domain CRISISBOT_FEISHU_DOMAIN or https://open.feishu.cn)
  is registered with the outbox, and with the dispatcher to turn open_ids into names;
- `POST /feishu/events` receives events over HTTP (needs FEISHU_VERIFICATION_TOKEN, and
  FEISHU_ENCRYPT_KEY for signed, encrypted events);
- with CRISISBOT_FEISHU_MODE=ws the long connection (lark.ws.Client) runs too, started and stopped with
  the app.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.adapters.feishu.settings import FeishuSettings, settings_from_values

if TYPE_CHECKING:  # pragma: no cover
    from bot.wiring import Wiring

log = logging.getLogger(__name__)


def feishu_settings(app: Wiring) -> FeishuSettings | None:
    """The adapter's settings from the app's env settings; None when Feishu is not configured."""
    return settings_from_values(app.services.settings)


def wall_clock(clock: Any) -> Any:
    """The clock to judge Feishu's request timestamps by: real time, even under the demo's replay clock.

    `crisisbot serve --demo` runs services on a ReplayClock (simulated feed time); Feishu's timestamps
    are real, so the replay check must use the replay clock's underlying real clock.
    """
    from bot.clock import ReplayClock

    if isinstance(clock, ReplayClock):
        return clock.real
    return clock


def wire(app: Wiring) -> None:
    """Register the Feishu port, the events route and (ws mode) the long connection."""
    settings = feishu_settings(app)
    if settings is None:
        return
    from bot.adapters.feishu.inbound import FeishuEvents
    from bot.adapters.feishu.port import FeishuChatPort

    services = app.services

    def submit(item: Any) -> Any:
        return services.dispatcher.submit(item)

    # uuids salted with the database's id: another install of the same app must not share them
    port = FeishuChatPort(settings, uuid_salt=services.db.install_id(),
                          language=lambda channel: services.config.channel_language(channel))
    services.outbox.register_port(port)
    services.dispatcher.register_name_lookup(port.platform, port.display_name)
    events = FeishuEvents(settings, submit, clock=wall_clock(services.clock), bot_open_id=port.bot_open_id)
    app.on_start.append(port.bot_open_id)  # learnt in the background from the start: mentions need it
    services.extra["feishu"] = events
    app.routes.append(events.route())
    if not settings.verification_token and not settings.long_connection:
        log.warning("feishu: FEISHU_VERIFICATION_TOKEN is not set: POST /feishu/events answers 503")
    elif not settings.encrypt_key and not settings.long_connection:
        log.warning("feishu: FEISHU_ENCRYPT_KEY is not set: events are neither encrypted nor signed")
    if settings.long_connection:
        from bot.adapters.feishu.longconn import LongConnection

        connection = LongConnection(settings, events.build_dispatcher("", ""))
        services.extra["feishu_long_connection"] = connection
        app.on_start.append(connection.start)
        app.on_stop.append(connection.stop)
    log.info("feishu adapter on (%s, %s mode)", settings.domain, settings.mode)
