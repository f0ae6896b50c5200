"""The Feishu adapter's settings, taken from the app's Settings (env: FEISHU_APP_ID, FEISHU_APP_SECRET,
FEISHU_VERIFICATION_TOKEN, FEISHU_ENCRYPT_KEY, FEISHU_TENANT_KEY, CRISISBOT_FEISHU_DOMAIN, CRISISBOT_FEISHU_MODE).

Feishu is on exactly when FEISHU_APP_ID and FEISHU_APP_SECRET are set. Kept free of lark imports so
reading the settings never costs the SDK's import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.id_lists import split_ids

FEISHU_DEFAULT_DOMAIN = "https://open.feishu.cn"  # Lark (international): https://open.larksuite.com


@dataclass(frozen=True, slots=True)
class FeishuSettings:
    app_id: str
    app_secret: str
    verification_token: str = ""
    encrypt_key: str = ""
    domain: str = FEISHU_DEFAULT_DOMAIN
    mode: str = "http"  # "http": events POSTed to /feishu/events; "ws": long connection (no public URL)
    max_clock_skew_s: float = 300.0
    allow_at_all: bool = True  # @所有人 for "all" mentions; some groups only let owners/admins use it
    # FEISHU_TENANT_KEY: the only tenants (企业) whose events and card presses are taken; empty: any
    tenant_keys: frozenset[str] = frozenset()

    @property
    def long_connection(self) -> bool:
        return self.mode == "ws"


def _stripped(values: Any, name: str) -> str:
    """A variable's value without the whitespace around it: `FEISHU_ENCRYPT_KEY=$'k\\n'` (an env file's
    line end, a pasted newline) kept as is failed every event's signature check (401), as Slack's secrets
    and CRISISBOT_INGEST_TOKEN are stripped for the same reason. "" when unset."""
    return (getattr(values, name, None) or "").strip()


def settings_from_values(values: Any) -> FeishuSettings | None:
    """Build from any object with feishu_* attributes (the foundation's Settings); None when off."""
    app_id = _stripped(values, "feishu_app_id")
    app_secret = _stripped(values, "feishu_app_secret")
    if not app_id or not app_secret:
        return None
    mode = (getattr(values, "feishu_mode", None) or "http").strip().lower()
    if mode not in ("http", "ws"):
        raise ValueError(f"CRISISBOT_FEISHU_MODE must be 'http' or 'ws', got {mode!r}")
    return FeishuSettings(
        app_id=app_id,
        app_secret=app_secret,
        verification_token=_stripped(values, "feishu_verification_token"),
        encrypt_key=_stripped(values, "feishu_encrypt_key"),
        domain=(_stripped(values, "feishu_domain") or FEISHU_DEFAULT_DOMAIN).rstrip("/"),
        mode=mode,
        tenant_keys=frozenset(split_ids(getattr(values, "feishu_tenant_key", None))),
    )
