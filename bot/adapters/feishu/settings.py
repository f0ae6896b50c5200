"""The Feishu adapter's settings, taken from the app's Settings (env: FEISHU_APP_ID, FEISHU_APP_SECRET,
FEISHU_VERIFICATION_TOKEN, FEISHU_ENCRYPT_KEY, CRISISBOT_FEISHU_DOMAIN, CRISISBOT_FEISHU_MODE).

Feishu is on exactly when FEISHU_APP_ID and FEISHU_APP_SECRET are set. Kept free of lark imports so
reading the settings never costs the SDK's import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

    @property
    def long_connection(self) -> bool:
        return self.mode == "ws"


def settings_from_values(values: Any) -> FeishuSettings | None:
    """Build from any object with feishu_* attributes (the foundation's Settings); None when off."""
    app_id = getattr(values, "feishu_app_id", None)
    app_secret = getattr(values, "feishu_app_secret", None)
    if not app_id or not app_secret:
        return None
    mode = (getattr(values, "feishu_mode", None) or "http").strip().lower()
    if mode not in ("http", "ws"):
        raise ValueError(f"CRISISBOT_FEISHU_MODE must be 'http' or 'ws', got {mode!r}")
    return FeishuSettings(
        app_id=app_id,
        app_secret=app_secret,
        verification_token=getattr(values, "feishu_verification_token", None) or "",
        encrypt_key=getattr(values, "feishu_encrypt_key", None) or "",
        domain=(getattr(values, "feishu_domain", None) or FEISHU_DEFAULT_DOMAIN).rstrip("/"),
        mode=mode,
    )
