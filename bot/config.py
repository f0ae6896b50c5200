"""Settings: secrets and overrides from the environment, everything else from config/crisisbot.yaml.

A bad config is refused with ONE message that lists every problem with its file and key path, e.g.
`config/crisisbot.yaml: accounts[2].platform: 'tiktok' is not one of douyin, kuaishou, ...`.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import types
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.alerts.settings import AlertsConfig
from bot.feeds.settings import FeedsConfig
from bot.id_lists import split_ids
from bot.playbooks.settings import PlaybooksConfig, permission_problems
from bot.replies.settings import RepliesConfig
from bot.reports.settings import ReportsConfig
from bot.sentiment.settings import SentimentConfig, fix_permission_problems
from bot.yaml_files import load_yaml

if TYPE_CHECKING:  # pragma: no cover
    from bot.storage.secrets import SecretBox

PLATFORMS = ("douyin", "kuaishou", "bilibili", "weibo", "xiaohongshu")
CHAT_PLATFORMS = ("console", "slack", "feishu")


def _role_member(value: str) -> str:
    """A member of `roles:` as people are known in chat: "platform:user_id". A bare name ("alice") matched
    nobody: the role's permissions and the on-call rota silently held no one."""
    platform, sep, user = value.partition(":")
    if not sep or not platform or not user.strip():
        raise ValueError("应写成 平台:用户ID / must look like 'platform:user_id', e.g. 'slack:U0123ABCD'")
    if platform not in CHAT_PLATFORMS:
        raise ValueError(f"未知的聊天平台 {platform!r}，可选：{'、'.join(CHAT_PLATFORMS)} / chat platform {platform!r} "
                         f"is not one of {', '.join(CHAT_PLATFORMS)}")
    return value
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = Path("config/crisisbot.yaml")


def zone_problem(name: str) -> str | None:
    """Why `name` is no IANA time zone, with the closest one when there is one ('Asia/Shanghia'), or None."""
    try:
        ZoneInfo(name)
        return None
    except (ZoneInfoNotFoundError, ValueError):
        pass
    from zoneinfo import available_timezones

    zones = {zone.lower(): zone for zone in available_timezones()}
    close = difflib.get_close_matches(name.strip().lower(), zones, n=1, cutoff=0.8)
    hint = f"（是否想写 / did you mean {zones[close[0]]!r}?）" if close else ""
    return f"未知的时区 / unknown time zone {name!r}{hint}"


class ConfigError(Exception):
    """Every problem found in the configuration, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# What a pinned id looks like: Slack workspace (T…) or Enterprise Grid org (E…) ids and app ids (A…) are
# upper-case letters and digits; a Feishu tenant_key is letters, digits, '_' and '-'.
_PINNED_ID_FORMS = {
    "slack_team_id": (re.compile(r"[TE][A-Z0-9]{1,31}"), "T0123ABCD,E0456EFGH"),
    "slack_app_id": (re.compile(r"A[A-Z0-9]{1,31}"), "A0123ABCD"),
    "feishu_tenant_key": (re.compile(r"[A-Za-z0-9_-]{1,64}"), "736588c9260f175d"),
}


class Settings(BaseSettings):
    """Environment: secrets (never from files in the repo) and CRISISBOT_* overrides."""

    model_config = SettingsConfigDict(env_prefix="CRISISBOT_", extra="ignore", populate_by_name=True)

    config_path: Path | None = Field(default=None, validation_alias=AliasChoices("CRISISBOT_CONFIG"))
    database_url: str | None = None
    host: str | None = None
    port: int | None = None
    timezone: str | None = None
    default_channel: str | None = None
    language: Literal["zh", "en"] | None = None
    ingest_token: str | None = None
    # 0 or less would refuse every webhook request, an empty one included, with 413
    ingest_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    slack_api_url: str | None = None
    feishu_domain: str | None = None
    feishu_mode: Literal["http", "ws"] = "http"
    log_level: str = "INFO"
    # CRISISBOT_SECRET_KEY: comma-separated Fernet keys encrypting the tokens the bot stores in its
    # database (the first encrypts, all decrypt). SecretStr keeps it out of reprs and tracebacks.
    secret_key: SecretStr | None = None

    slack_bot_token: str | None = Field(default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN"))
    slack_signing_secret: str | None = Field(default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET"))
    slack_app_token: str | None = Field(default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN"))
    feishu_app_id: str | None = Field(default=None, validation_alias=AliasChoices("FEISHU_APP_ID"))
    feishu_app_secret: str | None = Field(default=None, validation_alias=AliasChoices("FEISHU_APP_SECRET"))
    feishu_verification_token: str | None = Field(
        default=None, validation_alias=AliasChoices("FEISHU_VERIFICATION_TOKEN")
    )
    feishu_encrypt_key: str | None = Field(default=None, validation_alias=AliasChoices("FEISHU_ENCRYPT_KEY"))
    # Optional pins (comma-separated lists; unset: any): the workspaces or Enterprise Grid orgs (T…/E… ids) and
    # the app (A…) whose Slack requests are taken, and the Feishu tenants (tenant_key) whose events are taken.
    # A signing secret or verification token is the app's, so an app installed in several workspaces or
    # tenants would otherwise take every installation's requests. Normalised to "a,b" without blanks.
    slack_team_id: str | None = Field(default=None, validation_alias=AliasChoices("SLACK_TEAM_ID"))
    slack_app_id: str | None = Field(default=None, validation_alias=AliasChoices("SLACK_APP_ID"))
    feishu_tenant_key: str | None = Field(default=None, validation_alias=AliasChoices("FEISHU_TENANT_KEY"))

    @field_validator("host", "ingest_token")
    @classmethod
    def _stripped_blank_is_unset(cls, value: str | None) -> str | None:
        # `CRISISBOT_HOST=` (an empty line in an env file) means "not set", not "listen on every interface";
        # a blank ingest token means the webhook is off, as documented. Stripped: HTTP strips whitespace
        # around a header value, so a token ending in a newline (a secret mounted from a file, `echo` into
        # an env file) could never match and every request would be 401.
        if value is None:
            return None
        return value.strip() or None

    @field_validator("slack_team_id", "slack_app_id", "feishu_tenant_key")
    @classmethod
    def _id_list(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A pin that matches nothing refuses every request, so a value that cannot be an id of its kind is an
        # error here (shown by `config check`) rather than a bot that silently answers 403 to everything.
        if value is None:
            return None
        ids = split_ids(value)
        if not ids:
            return None
        pattern, example = _PINNED_ID_FORMS[info.field_name]
        bad = [i for i in ids if not pattern.fullmatch(i)]
        if bad:
            raise ValueError(f"{bad[0]!r} 不是有效的 ID（可用逗号分隔多个，例如 {example}）/ {bad[0]!r} is not a valid "
                             f"id (comma-separate several, e.g. {example})")
        return ",".join(ids)

    @field_validator("language", "feishu_mode", mode="before")
    @classmethod
    def _choice_any_case(cls, value: Any) -> Any:
        # `CRISISBOT_LANGUAGE=EN`, `CRISISBOT_FEISHU_MODE=WS`: the same choice in capitals
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("slack_api_url", "feishu_domain")
    @classmethod
    def _base_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        # `open.feishu.cn` (no scheme) or a typo passed `config check`; every API call then failed with a
        # transport error deep in the adapter
        if value is None or not value.strip():
            return None
        value = value.strip()
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            parts, host = None, None
        if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
            example = "https://slack.com/api/" if info.field_name == "slack_api_url" else "https://open.larksuite.com"
            raise ValueError(f"应为以 https:// 或 http:// 开头、带主机名的网址，例如 {example} / must be an http(s) "
                             f"URL with a host, e.g. {example}")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        # logging.basicConfig raises on an unknown name, and it runs at the start of every command
        level = value.strip().upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError(f"未知的日志级别 / unknown log level {value!r} (use DEBUG, INFO, WARNING, ERROR or CRITICAL)")
        return level

    def secret_box(self) -> SecretBox | None:
        """The SecretBox for CRISISBOT_SECRET_KEY, or None when unset; ConfigError for an invalid key."""
        from bot.storage.secrets import SecretBox, SecretKeyError

        try:
            return SecretBox.from_setting(self.secret_key.get_secret_value() if self.secret_key else None)
        except SecretKeyError as exc:
            raise ConfigError([f"environment (CRISISBOT_*): {exc}"]) from None

    @property
    def slack_enabled(self) -> bool:
        # Posting always needs the bot token; requests come in over HTTP (signing secret) or Socket Mode.
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @property
    def feishu_enabled(self) -> bool:
        return bool(self.feishu_app_id and self.feishu_app_secret)

    @property
    def any_chat_platform(self) -> bool:
        return self.slack_enabled or self.feishu_enabled


def _channel_address(value: str) -> str:
    platform, sep, rest = value.partition(":")
    if not sep and value.strip():
        # `lanji`: the console channel as `crisisbot console --channel` takes it, or a bare Slack/Feishu id
        raise ValueError(f"应写成 平台:频道ID / must look like 'platform:channel_id'（是否想写 / did you mean "
                         f"'console:{value.strip()}'?）")
    if not sep or not rest.strip():
        raise ValueError("应写成 平台:频道ID / must look like 'platform:channel_id', e.g. 'slack:C0123'")
    if platform not in CHAT_PLATFORMS:
        raise ValueError(f"未知的聊天平台 / chat platform {platform!r} is not one of {', '.join(CHAT_PLATFORMS)}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClientConfig(_Strict):
    id: str = Field(min_length=1)
    name: str = ""


class AccountConfig(_Strict):
    platform: Literal["douyin", "kuaishou", "bilibili", "weibo", "xiaohongshu"]
    account_id: str = Field(min_length=1)
    name: str = ""
    client: str | None = None
    # The account's own author ids on its platform (when they differ from account_id): comments by
    # these authors are our replies, which take a thread out of the reply queue.
    author_ids: list[str] = Field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.account_id}"


_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


class QuietHours(_Strict):
    start: str = "23:00"
    end: str = "08:00"

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        # pydantic's own text names the class ("instance of QuietHours"), which means nothing in a YAML file
        if not isinstance(value, (dict, QuietHours)):
            raise ValueError("应为 {start: HH:MM, end: HH:MM} / must be a mapping with start and end, "
                             "e.g. {start: '23:00', end: '08:00'}")
        return value

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        # "25:00" was accepted and then failed (or never matched) when an alert was held
        if not _CLOCK.fullmatch(value):
            raise ValueError(f"应为 00:00 到 23:59 之间的 HH:MM / must be a time HH:MM from 00:00 to 23:59, got {value!r}")
        return value


class ChannelConfig(_Strict):
    id: str = Field(min_length=3, description="platform:channel_id, e.g. slack:C0123 or feishu:oc_xxx")
    client: str | None = None
    accounts: list[str] = Field(default_factory=list, description="platform:account_id; a subset of the client")
    timezone: str | None = None
    language: Literal["zh", "en"] | None = None
    quiet_hours: QuietHours | None = None

    @field_validator("id")
    @classmethod
    def _address(cls, value: str) -> str:
        return _channel_address(value)


# A century: "keep for good" without the date arithmetic of the purge overflowing (99999999 days made the
# scheduled purge, and `purge --expired`, fail on every run).
MAX_RETENTION_DAYS = 36500


class RetentionConfig(_Strict):
    raw_payload_days: int = Field(default=90, ge=1, le=MAX_RETENTION_DAYS)
    author_identifiers_days: int = Field(default=90, ge=1, le=MAX_RETENTION_DAYS)
    # Finished outbox rows are deleted after this (their content goes after author_identifiers_days). The
    # rows are idempotency keys: reports check theirs for up to a week, alert and playbook messages are
    # updated in place for as long as an episode or run lasts, so a month is the floor.
    outbox_days: int = Field(default=365, ge=30, le=MAX_RETENTION_DAYS)
    processed_event_hours: int = Field(default=48, ge=7, le=MAX_RETENTION_DAYS * 24)


class AppConfig(_Strict):
    timezone: str = "Asia/Shanghai"
    language: Literal["zh", "en"] = "zh"
    default_channel: str = "console:general"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    database_url: str | None = None
    clients: list[ClientConfig] = Field(default_factory=list)
    accounts: list[AccountConfig] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)
    roles: dict[str, list[Annotated[str, AfterValidator(_role_member)]]] = Field(
        default_factory=dict, description="role -> platform:user_id list")
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    sentiment: SentimentConfig = Field(default_factory=SentimentConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    playbooks: PlaybooksConfig = Field(default_factory=PlaybooksConfig)
    replies: RepliesConfig = Field(default_factory=RepliesConfig)
    feeds: FeedsConfig = Field(default_factory=FeedsConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        # an empty host makes the server listen on EVERY interface (webhook and chat endpoints exposed)
        if not value.strip():
            raise ValueError(
                "不能为空 / cannot be empty: 127.0.0.1 listens on this machine only, 0.0.0.0 on every interface"
            )
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        problem = zone_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("default_channel")
    @classmethod
    def _default_channel(cls, value: str) -> str:
        # "slack:" would pass a bare colon check and then every default-channel message fails to send
        return _channel_address(value)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        # checked here, without connecting, so `config check` lists it and no command gets as far as a
        # driver traceback; the message never repeats the URL (it may hold a password)
        if value is not None:
            from bot.storage.db import url_problem

            problem = url_problem(value)
            if problem:
                raise ValueError(problem)
        return value

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def channel_timezone(self, channel: str) -> str:
        """The time zone a channel's messages show times in: its own, else the configured one."""
        for item in self.channels:
            if item.id == channel and item.timezone:
                return item.timezone
        return self.timezone

    def channel_language(self, channel: str) -> str:
        """'zh' or 'en': the language a channel's messages are written in (its own, else the configured one)."""
        for item in self.channels:
            if item.id == channel and item.language:
                return item.language
        return self.language or "zh"

    def channel_zone(self, channel: str | None) -> ZoneInfo:
        """`channel_timezone` as a zone; the configured one for no channel."""
        return ZoneInfo(self.channel_timezone(channel)) if channel else self.zone()

    def account(self, platform: str, account_id: str) -> AccountConfig | None:
        for account in self.accounts:
            if account.platform == platform and account.account_id == account_id:
                return account
        return None


def _format_loc(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "(top level)"


# pydantic's own messages are English only: the common ones get a Chinese lead (ops teams read these), the
# English kept after it since it names the expected pattern or limit. Our validators already write "中文 / English".
_ZH_BY_TYPE = {
    "string_type": "应为文本", "string_pattern_mismatch": "格式不符（允许的写法见后面的模式）",
    "string_too_short": "文本太短", "string_too_long": "文本太长",
    "int_type": "应为整数", "int_parsing": "应为整数", "int_from_float": "应为整数",
    "float_type": "应为数字", "float_parsing": "应为数字", "finite_number": "应为有限的数",
    "bool_type": "应为 true 或 false", "bool_parsing": "应为 true 或 false",
    "dict_type": "应为映射（键: 值）", "model_attributes_type": "应为映射（键: 值）",
    "list_type": "应为列表", "too_short": "条目太少",
}
_ZH_BOUNDS = {"greater_than_equal": ("ge", "数值太小，应不小于"), "greater_than": ("gt", "数值太小，应大于"),
              "less_than_equal": ("le", "数值太大，应不大于"), "less_than": ("lt", "数值太大，应小于")}


def pydantic_message(err: dict[str, Any]) -> str:
    """One pydantic error as a config problem's text, Chinese first (also used by `playbooks validate`)."""
    kind = err.get("type", "")
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{err.get('input')!r} 不是可选值之一 / is not one of {expected.replace(chr(39), '')}"
    if kind == "extra_forbidden":
        return "未知的键（请检查拼写）/ unknown key (check the spelling)"
    if kind == "missing":
        return "缺少必填的键 / required key is missing"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        expected = str(ctx.get("expected_tags", "")).replace("'", "")
        return (f"未知的类型 {ctx.get('tag')!r}，可选：{expected} / unknown type {ctx.get('tag')!r}: "
                f"expected one of {expected}")
    if kind == "union_tag_not_found":
        return f"缺少 {err.get('ctx', {}).get('discriminator', 'type').strip(chr(39))} 键 / the key naming the type is missing"
    if kind == "model_type":
        # pydantic's text names the Python class ("... or instance of RetentionConfig")
        return "应为映射（键: 值）/ must be a mapping of keys to values"
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    given = err.get("input")
    if kind == "string_type" and isinstance(given, int | float) and not isinstance(given, bool):
        # `account_id: 1234567` (Douyin and Bilibili ids are digits): YAML reads it as a number, and "should be
        # a valid string" did not say what to write instead
        return (f"应为文本：数字请加引号，如 '1234567'（不加引号时 YAML 把它读成数值）/ {message}: put a number in "
                f"quotes, e.g. '1234567' (unquoted, YAML reads it as a number)")
    if kind in _ZH_BOUNDS:
        key, words = _ZH_BOUNDS[kind]
        return f"{words} {err.get('ctx', {}).get(key)} / {message}"
    zh = _ZH_BY_TYPE.get(kind)
    return f"{zh} / {message}" if zh else message


def _walk(loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], type[BaseModel] | None]:
    """`loc` as the YAML's key path, and the settings model that holds its last key (AppConfig at the top;
    None where the path leaves models, lists and optional values).

    pydantic puts the tag of a tagged union into the path (`feeds.sources[1].weibo.interval`, "weibo" being
    the source's `type`): no such key is in the file, so the tag is dropped and its member model followed."""
    node: Any = AppConfig
    path: list[Any] = []
    known = True
    for part in loc:
        if not known:
            path.append(part)
            continue
        node = _unwrap(node)
        member = _union_member(node, part)
        if member is not None:
            node = member  # the tag: not a key of the file
            continue
        path.append(part)
        if isinstance(part, int) and get_origin(node) is list:
            node = get_args(node)[0]
        elif isinstance(node, type) and issubclass(node, BaseModel) and isinstance(part, str):
            fields = {info.alias or name: info for name, info in node.model_fields.items()}
            field = fields.get(part) or node.model_fields.get(part)
            if field is None:
                known = False
                continue
            node = field.annotation
        else:
            known = False
    node = _unwrap(node)
    model = node if known and isinstance(node, type) and issubclass(node, BaseModel) else None
    return tuple(path), model


def _union_member(node: Any, tag: Any) -> type[BaseModel] | None:
    """The member of a union of models whose `type` literal is `tag`, or None (not a union, no such tag)."""
    if not isinstance(tag, str) or get_origin(node) not in (Union, types.UnionType):
        return None
    for member in get_args(node):
        field = getattr(member, "model_fields", {}).get("type")
        if field is not None and tag in (get_args(field.annotation) or ()):
            return member
    return None


def _key_path(err: dict[str, Any]) -> tuple[Any, ...]:
    """Where in the file a pydantic error is: its key path, ending at the `type` key when that is the problem."""
    path = _walk(tuple(err.get("loc", ())))[0]
    if err.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        path += (str(err.get("ctx", {}).get("discriminator", "type")).strip("'"),)
    return path


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The settings model that holds the key at `loc` (see `_walk`)."""
    return _walk(loc)[1]


def _unwrap(node: Any) -> Any:
    """`Annotated[X, ...]` and `X | None` as X; a union of several types as itself."""
    while True:
        origin = get_origin(node)
        if origin is Annotated:
            node = get_args(node)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(node) if a is not type(None)]
            if len(members) != 1:
                return node
            node = members[0]
        else:
            return node


def _did_you_mean(loc: tuple[Any, ...]) -> str:
    """For an unknown key, the closest known key beside it (a typo is the usual cause), or ''."""
    if not loc or not isinstance(loc[-1], str):
        return ""
    model = _model_at(tuple(loc[:-1]))
    if model is None:
        return ""
    known = [info.alias or name for name, info in model.model_fields.items()]
    close = difflib.get_close_matches(loc[-1], known, n=1)
    return close[0] if close else ""


def _problem_text(err: dict[str, Any]) -> str:
    """pydantic_message, plus the closest known key for an unknown one."""
    message = pydantic_message(err)
    if err.get("type") == "extra_forbidden":
        close = _did_you_mean(tuple(err.get("loc", ())))
        if close:
            message = f"未知的键（是不是 {close}？）/ unknown key (did you mean {close}?)"
    return message


def _items(data: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _cross_checks(data: dict[str, Any]) -> list[tuple[str, str]]:
    """References between sections, checked on the raw mapping so they are reported beside schema errors."""
    problems: list[tuple[str, str]] = []
    client_ids: set[str] = set()
    for i, client in _items(data, "clients"):
        cid = client.get("id")
        if cid in client_ids:
            problems.append((f"clients[{i}].id", f"客户 id 重复 / duplicate client id {cid!r}"))
        client_ids.add(cid)
    account_keys: set[str] = set()
    account_client: dict[str, Any] = {}
    for i, account in _items(data, "accounts"):
        client = account.get("client")
        if client is not None and client not in client_ids:
            problems.append((f"accounts[{i}].client", f"未知的客户 / unknown client {client!r}"))
        key = f"{account.get('platform')}:{account.get('account_id')}"
        if key in account_keys:
            problems.append((f"accounts[{i}]", f"账号重复 / duplicate account {key!r}"))
        account_keys.add(key)
        account_client[key] = client
    channel_ids: set[str] = set()
    for i, channel in _items(data, "channels"):
        client = channel.get("client")
        if client is not None and client not in client_ids:
            problems.append((f"channels[{i}].client", f"未知的客户 / unknown client {client!r}"))
        cid = channel.get("id")
        if cid in channel_ids:
            problems.append((f"channels[{i}].id", f"频道重复 / duplicate channel {cid!r}"))
        channel_ids.add(cid)
        accounts = channel.get("accounts") or []
        for j, key in enumerate(accounts if isinstance(accounts, list) else []):
            if key not in account_keys:
                problems.append((f"channels[{i}].accounts[{j}]", f"未知的账号 / unknown account {key!r} (use platform:account_id)"))
            elif client is not None and account_client.get(key) != client:
                # the list narrows the client's accounts; naming another client's account would show
                # that client's alerts, comments and reports in this channel
                owner = account_client.get(key)
                problems.append((
                    f"channels[{i}].accounts[{j}]",
                    f"账号 {key!r} 不属于客户 {client!r} / account {key!r} belongs to "
                    + (f"client {owner!r}" if owner is not None else "no client")
                    + f", not to this channel's client {client!r}",
                ))
        zone = channel.get("timezone")
        if zone and (problem := zone_problem(str(zone))):
            problems.append((f"channels[{i}].timezone", problem))
    default_channel = data.get("default_channel")  # its form is checked by AppConfig._default_channel
    reports = data.get("reports")
    known_channels = channel_ids | {str(default_channel or AppConfig.model_fields["default_channel"].default)}
    for i, schedule in _items(reports if isinstance(reports, dict) else {}, "schedules"):
        channel = schedule.get("channel")
        if channel is not None and channel not in known_channels:
            problems.append(
                (f"reports.schedules[{i}].channel", f"未知的频道（请在 channels: 下列出）/ unknown channel {channel!r} (list it under channels:)")
            )
    return problems


def config_warnings(config: AppConfig) -> list[str]:
    """What is valid but probably a mistake; `config check` prints these without failing."""
    warnings: list[str] = []
    listed = {a.key for a in config.accounts}
    for i, source in enumerate(config.feeds.sources):
        account = getattr(source, "account", None)
        if not listed or not source.enabled or account is None:
            continue
        key = f"{account.platform}:{account.account_id}"
        if key not in listed:
            # valid (its comments go to the default channel, under no client), but usually a typo
            warnings.append(
                f"feeds.sources[{i}] ({source.id}): 账号 {key!r} 不在 accounts: 中，评论将进入默认频道、不属于任何客户 / "
                f"account {key!r} is not listed under accounts: its comments go to the default channel, under no client"
            )
    escalation = config.alerts.escalation
    # roles set up, but none for the rota (a renamed or misspelt role): escalations name no on-call person
    if escalation.enabled and not escalation.rota and config.roles and not config.roles.get(escalation.rota_role):
        warnings.append(
            f"alerts.escalation.rota_role: 角色 {escalation.rota_role!r} 未在 roles: 中定义或没有成员，且 rota 为空："
            f"无人确认的告警升级时不会点名任何值班人员 / role {escalation.rota_role!r} is not defined under roles: (or has "
            f"no members) and rota is empty: escalations of unacknowledged alerts will name no on-call person"
        )
    # Warnings, even when nobody could act: a monitoring bot that refused to start over a playbook
    # permission would miss the crisis itself; the refusal in chat names the same fix.
    warnings.extend(f"{path}: {message}" for path, message, _locks_everyone_out
                    in permission_problems(config.roles, config.playbooks.permissions.model_dump()))
    warnings.extend(fix_permission_problems(config.roles, config.sentiment.permissions))
    from bot.playbooks.validate import suggested_playbook_warnings  # lazily: it imports this module
    from bot.playbooks.wiring import playbook_dir

    warnings.extend(suggested_playbook_warnings(config.alerts.playbooks, playbook_dir(config.playbooks.directory)))
    return warnings


#: CRISISBOT_* variables read outside Settings: the reply webhook's default secret (`replies.posting.secret_env`),
#: the test suite's PostgreSQL, the training and benchmark switches, and one kept only to say it is ignored
_OTHER_CRISISBOT_VARIABLES = frozenset({
    "CRISISBOT_REPLY_WEBHOOK_SECRET", "CRISISBOT_TEST_POSTGRES_URL", "CRISISBOT_TRAIN_PINNED", "CRISISBOT_BENCH_DATA",
    "CRISISBOT_BENCH_POSTGRES_URL",
    "CRISISBOT_SLACK_MAX_IN_FLIGHT",
})


def unknown_variable_warnings(environ: Any, config: AppConfig | None = None) -> list[str]:
    """CRISISBOT_* variables the bot never reads, with the closest name it does: a misspelt one
    (CRISISBOT_DATABSE_URL) was ignored without a word and the bot ran on its default instead."""
    known = {_env_name(name) for name in Settings.model_fields} | _OTHER_CRISISBOT_VARIABLES
    if config is not None:  # variables the config names may start with CRISISBOT_ too
        known.add(config.replies.posting.secret_env)
        known.update(name for source in config.feeds.sources for name in source.credentials.values())
    known = {name for name in known if name.startswith("CRISISBOT_")}
    warnings = []
    for name in sorted(n for n in environ if n.upper().startswith("CRISISBOT_") and n not in known):
        close = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.6)
        hint = f"（是否想写 / did you mean {close[0]}?）" if close else ""
        warnings.append(f"environment: {name}: 机器人不读取这个变量，它不起作用 / the bot reads no such variable: it has "
                        f"no effect{hint}")
    return warnings


_SLACK_NEEDS = ("需要 SLACK_BOT_TOKEN 加 SLACK_SIGNING_SECRET（HTTP）或 SLACK_APP_TOKEN（Socket Mode）",
                "needs SLACK_BOT_TOKEN plus SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode)")
_FEISHU_NEEDS = ("需要 FEISHU_APP_ID 和 FEISHU_APP_SECRET", "needs FEISHU_APP_ID and FEISHU_APP_SECRET")


#: a shorter comment-webhook token is warned about: anyone who can reach the port may try tokens
MIN_INGEST_TOKEN_CHARS = 24


def platform_warnings(settings: Settings, config: AppConfig) -> list[str]:
    """Chat-platform setups that pass validation but cannot work as meant; `config check` prints them
    without failing (the bot still runs: `serve` only logs that the platform stays off).

    - credentials for Slack or Feishu that are only partly set: the platform stays off;
    - Feishu over HTTP without FEISHU_VERIFICATION_TOKEN: POST /feishu/events answers every event 503;
    - Feishu over HTTP without FEISHU_ENCRYPT_KEY: events are not signed (the token alone checks them);
    - a comment-webhook token shorter than MIN_INGEST_TOKEN_CHARS;
    - a channel (`channels:`, `default_channel`, a source's `notify_channel`) on a platform that is off:
      its messages wait in the outbox for good.
    """
    warnings: list[str] = []
    slack_set = [n for n, v in (("SLACK_BOT_TOKEN", settings.slack_bot_token),
                                ("SLACK_SIGNING_SECRET", settings.slack_signing_secret),
                                ("SLACK_APP_TOKEN", settings.slack_app_token)) if v]
    if slack_set and not settings.slack_enabled:
        warnings.append(
            f"Slack 未开启：只设置了 {'、'.join(slack_set)}，{_SLACK_NEEDS[0]} / Slack stays off: only "
            f"{', '.join(slack_set)} is set; Slack {_SLACK_NEEDS[1]}")
    feishu_set = [n for n, v in (("FEISHU_APP_ID", settings.feishu_app_id),
                                 ("FEISHU_APP_SECRET", settings.feishu_app_secret)) if v]
    if feishu_set and not settings.feishu_enabled:
        warnings.append(
            f"飞书未开启：只设置了 {'、'.join(feishu_set)}，{_FEISHU_NEEDS[0]} / Feishu stays off: only "
            f"{', '.join(feishu_set)} is set; Feishu {_FEISHU_NEEDS[1]}")
    if settings.feishu_enabled and settings.feishu_mode == "http" and not settings.feishu_verification_token:
        warnings.append(
            "飞书事件收不到：HTTP 模式下未设置 FEISHU_VERIFICATION_TOKEN，POST /feishu/events 对每个事件都返回 503；"
            "请设置它（以及 FEISHU_ENCRYPT_KEY），或改用长连接 CRISISBOT_FEISHU_MODE=ws / Feishu events cannot "
            "arrive: FEISHU_VERIFICATION_TOKEN is not set, so POST /feishu/events answers 503 to every event; set it "
            "(and FEISHU_ENCRYPT_KEY), or use the long connection (CRISISBOT_FEISHU_MODE=ws)")
    if settings.feishu_enabled and settings.feishu_mode == "http" and settings.feishu_verification_token \
            and not settings.feishu_encrypt_key:
        # Feishu signs events only when the app has an Encrypt Key; without one the verification token, which
        # travels in every event body, is the only check, and the timestamp header is optional
        warnings.append(
            "飞书事件未签名：未设置 FEISHU_ENCRYPT_KEY，只能靠每个事件里都带着的 Verification Token 校验，见过一个事件的人"
            "就能伪造其他事件；请在开放平台设置 Encrypt Key 并设置 FEISHU_ENCRYPT_KEY / Feishu events are not signed: "
            "without FEISHU_ENCRYPT_KEY the only check is the verification token, which every event body carries, "
            "so whoever has seen one event can forge others; set an Encrypt Key in the app and FEISHU_ENCRYPT_KEY")
    if settings.ingest_token and len(settings.ingest_token) < MIN_INGEST_TOKEN_CHARS:
        warnings.append(
            f"CRISISBOT_INGEST_TOKEN 只有 {len(settings.ingest_token)} 个字符，容易被猜中；评论 webhook 的令牌请用至少 "
            f"{MIN_INGEST_TOKEN_CHARS} 个随机字符（如 python -c \"import secrets; print(secrets.token_urlsafe(32))\"）/ "
            f"CRISISBOT_INGEST_TOKEN has only {len(settings.ingest_token)} characters and is easy to guess: use at "
            f"least {MIN_INGEST_TOKEN_CHARS} random characters for the comment webhook's token")
    off = {"slack": (not settings.slack_enabled, "Slack", *_SLACK_NEEDS),
           "feishu": (not settings.feishu_enabled, "飞书 Feishu", *_FEISHU_NEEDS)}
    places = [(f"channels[{i}]", channel.id) for i, channel in enumerate(config.channels)]
    default_from = "CRISISBOT_DEFAULT_CHANNEL" if settings.default_channel else "default_channel"
    places.append((default_from, config.default_channel))
    places += [(f"feeds.sources[{i}].notify_channel", source.notify_channel)
               for i, source in enumerate(config.feeds.sources)
               if source.enabled and getattr(source, "notify_channel", None)]
    seen: set[str] = set()
    for where, address in places:
        if address in seen:  # the default channel is usually listed under channels: too
            continue
        seen.add(address)
        platform = address.partition(":")[0]
        is_off, name, needs_zh, needs_en = off.get(platform, (False, "", "", ""))
        if is_off:
            warnings.append(
                f"{where} ({address}): {name} 未开启，发往这个频道的消息会一直留在发件箱里、不会送达（{needs_zh}）/ "
                f"{name.split()[-1]} is off: messages to this channel would wait in the outbox for good "
                f"({needs_en})")
    return warnings


#: the top-level keys holding a list or a mapping (everything with a default factory)
_SECTIONS = frozenset(name for name, info in AppConfig.model_fields.items() if info.default_factory is not None)


def parse_config(data: Any, *, source: str) -> AppConfig:
    """Validate a mapping; raise ConfigError listing every problem as 'source: key.path: message'."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: (top level): 顶层应为映射（键: 值）/ must be a mapping of keys to values"])
    # A section whose every line is commented out (`feeds:` with the examples disabled that way) reads as
    # YAML null: that is the section's defaults, not "Input should be a valid dictionary".
    data = {key: value for key, value in data.items() if not (value is None and key in _SECTIONS)}
    problems: list[tuple[str, str]] = []
    cfg = None
    try:
        cfg = AppConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend((_format_loc(_key_path(e)), _problem_text(e)) for e in exc.errors())
    problems.extend(_cross_checks(data))
    if problems:
        raise ConfigError([f"{source}: {path}: {message}" for path, message in problems])
    assert cfg is not None
    return cfg


def resolve_config_path(settings: Settings) -> Path | None:
    """CRISISBOT_CONFIG if set (must exist), else ./config/crisisbot.yaml if present, else None."""
    if settings.config_path is not None:
        return settings.config_path
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None


def load_config(path: Path | None) -> AppConfig:
    """Read and validate the YAML file; None means built-in defaults."""
    if path is None:
        return AppConfig()
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{source}: (file): 文件不存在 / not found"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{source}: (file): 这是文件夹，不是文件 / this is a folder, not a file"]) from None
    except OSError as exc:
        raise ConfigError([f"{source}: (file): 无法读取 / cannot be read: {exc.strerror or exc}"]) from None
    text = _config_text(raw, source)
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = (f"第 {mark.line + 1} 行第 {mark.column + 1} 列 / line {mark.line + 1}, column {mark.column + 1}"
                 if mark else "(parse)")
        problem = str(getattr(exc, "problem", exc))
        if "tab" in problem or (mark is not None and _char_at(text, mark.line, mark.column) == "\t"):
            # libyaml says "found character that cannot start any token" for a tab: name it, as the
            # pure-Python parser does for playbooks
            problem = ("制表符（Tab）不能用于缩进，请改用空格 / found a tab character where an indentation space "
                       f"is expected: indent with spaces ({problem})")
        # libyaml's own text stays after the Chinese lead: it names the token it stumbled on
        raise ConfigError([f"{source}: {where}: YAML 格式错误 / invalid YAML: {problem}"]) from None
    return parse_config(data, source=source)


def _config_text(raw: bytes, source: str) -> str:
    """The config file's text, read as playbook files are (docs/playbooks.md): UTF-8 with or without BOM,
    then GB18030 (GBK), the encoding Chinese Windows editors save in; anything else is a problem naming the
    first bad line and how to fix it (a GBK file was refused with Python's "codec can't decode byte 0xc0")."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    # here only, not at the top: the file reader's module is not needed to read a config that is text
    from bot.feeds.files import WIDE_UNICODE, wide_unicode

    if wide_unicode(raw):  # Notepad's "Unicode": named, as `crisisbot ingest` names it
        raise ConfigError([f"{source}: 这是 {WIDE_UNICODE[0]}（如记事本另存为的“Unicode”），请另存为 UTF-8 / "
                           f"this is {WIDE_UNICODE[1]} (such as Notepad's \"Unicode\"): save it as UTF-8"])
    try:
        # GB18030's own byte-order mark decodes to U+FEFF: dropped, as utf-8-sig drops UTF-8's
        return raw.decode("gb18030").removeprefix("\ufeff")
    except UnicodeDecodeError:
        line = raw.count(b"\n", 0, first_bad) + 1
        raise ConfigError([f"{source}: 第 {line} 行 / line {line}: 不是 UTF-8 或 GB18030 文本，请另存为 UTF-8 / "
                           "not UTF-8 or GB18030 text: save it as UTF-8"]) from None


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line][column:column + 1] if 0 <= line < len(lines) else ""


def apply_env_overrides(cfg: AppConfig, settings: Settings) -> AppConfig:
    """CRISISBOT_* variables win over the file."""
    updates: dict[str, Any] = {}
    for name in ("database_url", "host", "port", "timezone", "default_channel", "language"):
        value = getattr(settings, name)
        if value is not None:
            updates[name] = value
    if not updates:
        return cfg
    # Only what the file set: a full dump would mark every default as set, and settings that merge with
    # presets by "what the user set" (a generic_json source's partial `fields`) would lose the preset.
    data = cfg.model_dump(exclude_unset=True, by_alias=True)
    data.update(updates)
    return parse_config(data, source="environment (CRISISBOT_*)")


def default_database_url() -> str:
    return f"sqlite:///{Path('var') / 'crisisbot.db'}"


def _env_name(name: str) -> str:
    field = Settings.model_fields.get(name)
    alias = field.validation_alias if field else None
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return f"CRISISBOT_{name.upper()}"


def settings_problems(exc: ValidationError) -> list[str]:
    """A Settings ValidationError as config problems naming the environment variable, e.g.
    `environment: CRISISBOT_PORT='abc': Input should be a valid integer ...`."""
    problems = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err.get("loc") else ""
        var = _env_name(name) if name else "(environment)"
        # a value is echoed so the user sees what was read, except where it may be a credential
        secret = any(word in name for word in ("token", "secret", "key", "password"))
        shown = "" if secret or not name or err.get("type") == "literal_error" else f"={err.get('input')!r}"
        problems.append(f"environment: {var}{shown}: {pydantic_message(err)}")
    return problems


def load_settings() -> tuple[Settings, list[str]]:
    """Settings from the environment, and its problems. A variable with a bad value is reported and
    left at its default, so the config file is still read and checked: `config check` lists every
    problem at once."""
    try:
        return Settings(), []
    except ValidationError as exc:
        problems = settings_problems(exc)
        bad = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
        defaults = {name: Settings.model_fields[name].get_default(call_default_factory=True)
                    for name in bad if name in Settings.model_fields}
        try:
            return Settings(**defaults), problems
        except ValidationError:  # pragma: no cover - defaults are valid
            return Settings.model_construct(), problems


def load_all(settings: Settings | None = None) -> tuple[Settings, AppConfig, Path | None]:
    """Settings from the environment plus the validated config file; raises ConfigError listing every
    problem of both."""
    problems: list[str] = []
    if settings is None:
        settings, problems = load_settings()
    path = resolve_config_path(settings)
    try:
        base = load_config(path)
    except ConfigError as exc:
        problems += exc.problems
        base = AppConfig()  # still check the CRISISBOT_* overrides, against the defaults
    try:
        cfg = apply_env_overrides(base, settings)
    except ConfigError as exc:
        problems += exc.problems
    if not (settings.database_url or base.database_url):
        fallback = os.environ.get("DATABASE_URL")
        if fallback:
            from bot.storage.db import url_problem

            problem = url_problem(fallback)
            if problem:
                problems.append(f"environment: DATABASE_URL: {problem}")
    if problems:
        raise ConfigError(problems)
    return settings, cfg, path


def database_url(settings: Settings, cfg: AppConfig) -> str:
    return database_url_and_source(settings, cfg)[0]


def database_url_and_source(settings: Settings, cfg: AppConfig) -> tuple[str, str]:
    """The database URL and where it came from, for serve's start-up log line. The plain DATABASE_URL (the
    variable hosting platforms set) is read only when neither CRISISBOT_DATABASE_URL nor the config's
    `database_url` is set: another program's DATABASE_URL on the same machine would otherwise be used
    without a word."""
    if settings.database_url:
        return settings.database_url, "CRISISBOT_DATABASE_URL"
    if cfg.database_url:
        return cfg.database_url, "database_url (config)"
    fallback = os.environ.get("DATABASE_URL")
    if fallback:
        return fallback, "DATABASE_URL"
    return default_database_url(), "default"
