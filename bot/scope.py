"""Client isolation: which accounts a channel may see, and which channels an account's news goes to.

An agency runs one bot for many brands. A channel mapped to a client sees that client's accounts (or
the subset it lists); the default channel sees accounts that belong to no configured client. A channel
never sees another client's data.
"""

from __future__ import annotations

from bot.config import PLATFORMS, AppConfig


def unsupported_platform(account: str, lang: str = "zh") -> str | None:
    """Why an account written 'platform:account_id' cannot exist (its platform is not one the bot
    supports), Chinese first with English (English alone for `lang` "en"), or None. Commands check it before
    the channel's scope: "this channel may not see tiktok:foo" sent people after a permission that could not
    help them."""
    platform = account.partition(":")[0].strip()
    if platform.lower() in PLATFORMS:
        return None
    english = f"{platform!r} is not a supported platform; supported: {', '.join(PLATFORMS)}"
    if lang == "en":
        return english
    return f"不支持的平台 {platform!r}，支持的平台：{'、'.join(PLATFORMS)} / {english}"


# Up to this many accounts a channel's SQL filter is an OR of (platform = ? AND account_id = ?) terms, which
# SQLite answers from ix_comment_account_created term by term; beyond it, one (platform, account_id) IN list.
OR_TERMS_MAX = 50


class ChannelScope:
    def __init__(self, config: AppConfig) -> None:
        self.default_channel = config.default_channel
        self._client_accounts: dict[str, set[str]] = {}
        for account in config.accounts:
            if account.client:
                self._client_accounts.setdefault(account.client, set()).add(account.key)
        self._configured_accounts = {a.key for a in config.accounts if a.client}
        self._channel_accounts: dict[str, frozenset[str]] = {}
        for channel in config.channels:
            keys: set[str] = set(channel.accounts)
            if channel.client and not channel.accounts:
                keys |= self._client_accounts.get(channel.client, set())
            self._channel_accounts[channel.id] = frozenset(keys)
        self._account_channels: dict[str, list[str]] = {}
        for channel_id, keys in self._channel_accounts.items():
            for key in keys:
                self._account_channels.setdefault(key, []).append(channel_id)

    def accounts_for(self, channel: str) -> frozenset[str] | None:
        """Accounts 'platform:account_id' the channel may see.

        None means "accounts of no configured client" (the default channel, or an unmapped channel when
        no clients are configured at all, as in a fresh install).
        """
        if channel in self._channel_accounts:
            return self._channel_accounts[channel]
        if channel == self.default_channel or not self._channel_accounts:
            return None
        return frozenset()

    def not_configured(self, channel: str, lang: str = "zh") -> str | None:
        """Why `channel` sees no account at all when it is listed nowhere (not under `channels:`, not the
        default channel, while other channels are), with its address to paste into the config; else None.
        An empty answer ("没有待回复的评论 🎉") there hid that the chat is simply not set up. In English alone
        for `lang` "en" (such a channel has no language of its own: the install's `language` decides, as
        `AppConfig.channel_language` answers for it)."""
        if channel in self._channel_accounts or channel == self.default_channel or not self._channel_accounts:
            return None
        english = (f"this channel is not configured and sees no accounts: add id: {channel} (with its client or "
                   f"accounts) under channels: in the config")
        if lang == "en":
            return english[:1].upper() + english[1:]
        return (f"本频道尚未配置，看不到任何账号：请在配置文件的 channels: 下加入 id: {channel}（并写明 client 或 "
                f"accounts）/ {english}")

    def can_see(self, channel: str, account_key: str) -> bool:
        allowed = self.accounts_for(channel)
        if allowed is None:
            return account_key not in self._configured_accounts
        return account_key in allowed

    def channels_for_account(self, platform: str, account_id: str) -> list[str]:
        """Where this account's alerts and notices go; the default channel when it has none."""
        channels = self._account_channels.get(f"{platform}:{account_id}")
        return list(channels) if channels else [self.default_channel]

    def filter_accounts(self, channel: str, keys: list[str]) -> list[str]:
        return [k for k in keys if self.can_see(channel, k)]

    def known_channels(self) -> list[str]:
        return sorted({self.default_channel, *self._channel_accounts})

    def sql_condition(self, channel: str, platform_column, account_column):
        """A SQLAlchemy condition selecting rows of the accounts this channel may see."""
        from sqlalchemy import and_, false, not_, or_, true, tuple_

        allowed = self.accounts_for(channel)
        if allowed is None:
            if not self._configured_accounts:
                return true()
            pairs = [tuple(k.split(":", 1)) for k in sorted(self._configured_accounts)]
            return not_(tuple_(platform_column, account_column).in_(pairs))
        if not allowed:
            return false()
        pairs = [tuple(k.split(":", 1)) for k in sorted(allowed)]
        if len(pairs) <= OR_TERMS_MAX:
            # SQLite never uses an index for a row-value IN (VALUES ...): every report scanned the whole
            # comment table. An OR of equalities lets it use (platform, account_id, created_at) once per
            # account; PostgreSQL plans both forms with the index.
            return or_(*(and_(platform_column == p, account_column == a) for p, a in pairs))
        return tuple_(platform_column, account_column).in_(pairs)
