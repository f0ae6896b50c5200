"""Turns the slack adapter on when its credentials are set: routes, the chat port, background clients.

Slack is on exactly when SLACK_BOT_TOKEN is set together with SLACK_SIGNING_SECRET (HTTP events at
`POST /slack/events`) and/or SLACK_APP_TOKEN (Socket Mode, no public URL needed).
`CRISISBOT_SLACK_API_URL` points the Web API elsewhere (slack_sdk form, trailing `/api/`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.id_lists import split_ids

if TYPE_CHECKING:  # pragma: no cover
    from bot.messages import Action, Command
    from bot.wiring import Wiring

log = logging.getLogger("crisisbot.slack")


@dataclass(frozen=True, slots=True)
class SlackCredentials:
    bot_token: str | None = None
    signing_secret: str | None = None
    app_token: str | None = None
    api_url: str | None = None
    # SLACK_TEAM_ID / SLACK_APP_ID: the only workspaces (or Grid orgs) and app whose requests are taken; empty: any
    team_ids: frozenset[str] = frozenset()
    app_ids: frozenset[str] = frozenset()

    @property
    def http_enabled(self) -> bool:
        return bool(self.bot_token and self.signing_secret)

    @property
    def socket_mode_enabled(self) -> bool:
        return bool(self.bot_token and self.app_token)

    @property
    def enabled(self) -> bool:
        return self.http_enabled or self.socket_mode_enabled


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "get_secret_value"):  # pydantic SecretStr
        value = value.get_secret_value()
    value = str(value).strip()
    return value or None


def load_credentials(settings: Any | None) -> SlackCredentials:
    """Slack credentials from the app settings (fields slack_*; bot.config.Settings reads them from the
    environment), or straight from the environment when there are no settings."""

    def pick(field: str, env: str) -> str | None:
        if settings is not None:
            return _secret(getattr(settings, field, None))
        return _secret(os.environ.get(env))

    return SlackCredentials(
        bot_token=pick("slack_bot_token", "SLACK_BOT_TOKEN"),
        signing_secret=pick("slack_signing_secret", "SLACK_SIGNING_SECRET"),
        app_token=pick("slack_app_token", "SLACK_APP_TOKEN"),
        api_url=pick("slack_api_url", "CRISISBOT_SLACK_API_URL"),
        # Settings has checked and normalised the lists ("T1,T2"); straight from the environment they may hold blanks
        team_ids=frozenset(split_ids(pick("slack_team_id", "SLACK_TEAM_ID"))),
        app_ids=frozenset(split_ids(pick("slack_app_id", "SLACK_APP_ID"))),
    )


class SlackAdapter:
    """What `wire` builds; kept in `services.extra["slack"]` so tests and the CLI can reach it."""

    def __init__(self, app: Wiring, credentials: SlackCredentials) -> None:
        from bot.log_limits import RefusalLog

        from .inbound import InstallPins
        from .inbound_app import InboundBridge, SocketModeRunner, build_bolt_app, build_events_route
        from .port import SlackChatPort

        self.credentials = credentials
        self._services = app.services
        # its messages' own notes (a cut message) speak the language of the channel they go to
        self.port = SlackChatPort(credentials.bot_token or "", base_url=credentials.api_url,
                                  language=lambda channel: self._services.config.channel_language(channel))
        self.port.on_channel_error = self.tell_operator
        if os.environ.get("CRISISBOT_SLACK_MAX_IN_FLIGHT", "").strip():
            # It paced the hand-over after the ack; items are now journalled before the ack, so it is gone.
            log.warning("slack: CRISISBOT_SLACK_MAX_IN_FLIGHT is no longer used and is ignored")
        # the forms it opens (modals) speak the language of the channel the button was pressed in
        self.bridge = InboundBridge(self._submit,
                                    language=lambda channel: self._services.config.channel_language(channel))
        # paced by the services' clock (tests inject theirs; real time under the demo's replay clock)
        self.refusals = RefusalLog(log, clock=getattr(app.services, "clock", None))
        pins = InstallPins(team_ids=credentials.team_ids, app_ids=credentials.app_ids)
        bolt_app = None
        if credentials.http_enabled:
            bolt_app = build_bolt_app(bot_token=credentials.bot_token or "", signing_secret=credentials.signing_secret,
                                      bridge=self.bridge, api_url=credentials.api_url, pins=pins,
                                      refusals=self.refusals)
        # Signatures are checked against wall-clock time, never the services' (replay/fake) clock.
        self.route = build_events_route(app=bolt_app, signing_secret=credentials.signing_secret,
                                        refusals=self.refusals)
        self.socket_mode: SocketModeRunner | None = None
        if credentials.socket_mode_enabled:
            self.socket_mode = SocketModeRunner(
                app_token=credentials.app_token or "",
                app_factory=lambda: build_bolt_app(bot_token=credentials.bot_token or "", signing_secret=None,
                                                   bridge=self.bridge, api_url=credentials.api_url, pins=pins,
                                                   refusals=self.refusals),
            )

    def tell_operator(self, channel_id: str, code: str, hint: str) -> None:
        """A Slack channel refuses our messages: say so in the default channel, at most once an hour."""
        from bot.messages import Message

        services = self._services
        default = services.config.default_channel
        if default == f"slack:{channel_id}":
            return
        hour = services.clock.now().strftime("%Y%m%d%H")
        text = (f"⚠️ 无法向 Slack 频道 {channel_id} 发送消息（{code}）/ cannot post to Slack channel "
                f"{channel_id} ({code})\n{hint}")
        services.outbox.send(channel=default, message=Message(text=text),
                             key=f"slack-channel-error:{channel_id}:{code}:{hour}")

    def _submit(self, item: Command | Action) -> Any:
        # Looked up per call: the dispatcher may be attached to the services after the adapters are wired.
        return self._services.dispatcher.submit(item)

    def stop(self) -> None:
        if self.socket_mode is not None:
            self.socket_mode.stop()


def wire(app: Wiring) -> None:
    """Register the Slack chat port, the `/slack/events` route and Socket Mode when credentials are set."""
    credentials = load_credentials(getattr(app.services, "settings", None))
    if not credentials.enabled:
        if credentials.bot_token or credentials.signing_secret or credentials.app_token:
            log.warning("slack: incomplete credentials; need SLACK_BOT_TOKEN plus SLACK_SIGNING_SECRET "
                        "(HTTP) or SLACK_APP_TOKEN (Socket Mode). Slack stays off.")
        return
    adapter = SlackAdapter(app, credentials)
    app.services.outbox.register_port(adapter.port)
    # a command sent by @mentioning the bot carries only the user id: confirmations then name the person
    app.services.dispatcher.register_name_lookup(adapter.port.platform, adapter.port.display_name)
    app.routes.append(adapter.route)
    app.services.extra["slack"] = adapter
    if adapter.socket_mode is not None:
        app.on_start.append(adapter.socket_mode.start)
    app.on_stop.append(adapter.stop)
    log.info("slack: on (%s)", ", ".join(
        name for name, on in (("HTTP /slack/events", credentials.http_enabled),
                               ("Socket Mode", credentials.socket_mode_enabled)) if on))
