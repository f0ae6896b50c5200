"""Comma-separated id lists (SLACK_TEAM_ID, SLACK_APP_ID, FEISHU_TENANT_KEY): one reading for the settings
check and the adapters, so what `config check` accepts is exactly what the adapters pin. No imports, so an
adapter may use it without pulling in the settings."""

from __future__ import annotations


def split_ids(value: str | None) -> list[str]:
    """The ids in `value` in their order, each stripped; blank items (" , ,") and repeats left out.
    [] for None or a blank value."""
    return list(dict.fromkeys(part.strip() for part in (value or "").split(",") if part.strip()))
