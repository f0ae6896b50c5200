"""Config section for the platform feeds (`feeds:` in config/crisisbot.yaml). Unknown keys are refused.

Each entry of `feeds.sources` is one poller: a source type (bilibili, douyin, weibo, generic_json,
announcements), the monitored account, the targets (video/post ids, or "recent"), its timing, where to
reach the platform (`base_url`, so tests and proxies can point it anywhere) and the *names* of the
environment variables holding its credentials (never the secrets themselves).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# No timing value of a source needs more than a year; the cap also keeps every value far inside what
# timedelta and the scheduler accept (".inf" or "99999999999d" used to crash `sources` and `poll`).
MAX_DURATION_SECONDS = 365 * 86400.0
MAX_INTERVAL_SECONDS = 7 * 86400.0
MAX_TIMEOUT_SECONDS = 600.0

SourceType = Literal["bilibili", "douyin", "weibo", "generic_json", "announcements"]


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as "90", "90s", "5m", "1.5h", "7d": finite, not negative,
    at most a year."""
    if isinstance(value, bool):
        raise ValueError("时长应为秒数或如 '5m' 的字符串 / a duration is a number of seconds or a string like '5m'")
    seconds: float | None = None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds is None:
        raise ValueError(
            f"{value!r} 不是时长 / is not a duration (use seconds or e.g. '90s', '5m', '2h', '7d')"
        )
    if not math.isfinite(seconds):
        raise ValueError(f"时长必须是有限的数 / a duration must be finite; got {value!r}")
    if seconds < 0:
        raise ValueError(f"时长不能为负 / a duration cannot be negative; got {value!r}")
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"时长不能超过 365 天 / a duration cannot exceed 365 days; got {value!r}")
    return seconds


def _header_value(name: str, value: str) -> str:
    """An HTTP header value as the client can send it: printable ASCII (RFC 9110 field values)."""
    if not value.isascii() or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(
            f"{name}: HTTP 头只能用可打印的 ASCII 字符 / an HTTP header takes printable ASCII only "
            "(no Chinese characters or line breaks)"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountRef(_Strict):
    """The monitored account the comments belong to (matches an entry of `accounts:`)."""

    platform: str
    account_id: str

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str) -> str:
        from bot.feeds.records import PLATFORMS  # the platforms ingestion accepts

        if value not in PLATFORMS:
            raise ValueError(f"{value!r} is not one of {', '.join(PLATFORMS)}")
        return value

    @field_validator("account_id", mode="before")
    @classmethod
    def _account_id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class BackoffSettings(_Strict):
    """Exponential backoff with jitter after a failed poll; Retry-After always wins when longer."""

    base: float = 30.0
    max: float = 3600.0
    # Bilibili answers HTTP 412 / code -412 under risk control: wait long, once, rather than retrying.
    risk_control: float = 1800.0
    unhealthy_after: int = Field(default=5, ge=1)

    @field_validator("base", "max", "risk_control", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("base", "risk_control")
    @classmethod
    def _positive(cls, value: float) -> float:
        # 0 would retry a failing platform in a tight loop
        if value <= 0:
            raise ValueError("必须大于 0 / must be greater than 0")
        return value

    @model_validator(mode="after")
    def _max_not_below_base(self) -> BackoffSettings:
        if self.max < self.base:
            raise ValueError(
                f"max ({self.max:g}s) 不能小于 base ({self.base:g}s) / max must not be below base"
            )
        return self


class _RecentPosts(_Strict):
    """With `targets: recent`, watch the account's newest posts, listed by the platform's own API."""

    recent_posts: int = Field(default=5, ge=1, le=50)
    recent_refresh: float = 1800.0  # how often the list of recent posts is read again

    @field_validator("recent_refresh", mode="before")
    @classmethod
    def _refresh_duration(cls, value: Any) -> float:
        return parse_duration(value)


class BilibiliSettings(_RecentPosts):
    """Bilibili reply API (`/x/v2/reply/main`, or `/x/v2/reply/wbi/main` when `wbi` is on)."""

    wbi: bool = True
    comment_type: int = 1  # 1 = video (稿件); see the reply API's type table
    mode: int = 2  # 2 = newest first, which is what incremental polling needs
    page_size: int = Field(default=20, ge=1, le=20)
    max_pages: int = Field(default=10, ge=1)
    wbi_keys_ttl: float = 6 * 3600.0  # keys change daily; refresh well before
    # Threads show at most a few nested previews: read `/x/v2/reply/reply` when a thread's rcount grew
    # beyond its previews (newest pages first), so every reply keeps its parent and ours are marked.
    fetch_replies: bool = True
    max_reply_pages: int = Field(default=3, ge=1)

    @field_validator("wbi_keys_ttl", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> float:
        return parse_duration(value)


class DouyinSettings(_RecentPosts):
    """Douyin open platform item comment list (`/item/comment/list/`, access token in a header)."""

    open_id: str | None = None  # defaults to the account's account_id
    count: int = Field(default=20, ge=1, le=50)
    sort_type: str = "time"
    max_pages: int = Field(default=10, ge=1)
    own_user_ids: list[str] = Field(default_factory=list)  # comment_user_id values that are "us"
    fetch_replies: bool = True  # read the reply list of comments whose reply total grew
    max_reply_pages: int = Field(default=3, ge=1)


class WeiboSettings(_RecentPosts):
    """Weibo comments API (`/2/comments/show.json`, `since_id`/`max_id` paging)."""

    count: int = Field(default=50, ge=1, le=200)
    max_pages: int = Field(default=10, ge=1)
    # Ask the first page of each poll for comments newer than the newest stored one (`since_id`), so a
    # quiet post costs an empty answer. Turn off to re-read the overlap window from the top each poll
    # (catches comments published late with an older id, e.g. released from review).
    since_id: bool = True


class FieldMapping(_Strict):
    """Dotted paths inside one list item (e.g. `user.id`) for the neutral record's fields."""

    id: str = "id"
    text: str = "text"
    time: str = "created_at"
    author_id: str | None = None
    author_name: str | None = None
    author_followers: str | None = None
    likes: str | None = None
    replies: str | None = None
    parent: str | None = None
    # unmapped: the target asked for, or with `targets: recent` the source id (see generic.py)
    content_id: str | None = None
    content_title: str | None = None
    content_url: str | None = None


class GenericJsonSettings(_Strict):
    """Any HTTP JSON endpoint with a declarative mapping. `preset` fills defaults; explicit keys win."""

    preset: Literal["kuaishou_open", "crawler"] | None = None
    path: str | None = None
    method: Literal["GET", "POST"] | None = None
    params: dict[str, Any] | None = None  # "{target}", "{cursor}" and "{credential:NAME}" are filled in
    headers: dict[str, str] | None = None
    list_path: str | None = None
    nested_path: str | None = None  # replies embedded in an item (their parent is that item)
    fields: FieldMapping | None = None
    time_format: str | None = None  # epoch | epoch_ms | iso | weibo | a strptime pattern
    time_zone: str | None = None  # for naive times; default Asia/Shanghai
    cursor_param: str | None = None
    cursor_path: str | None = None
    has_more_path: str | None = None
    end_cursor_values: list[Any] | None = None
    error_path: str | None = None  # a field that must hold one of ok_values
    ok_values: list[Any] | None = None
    error_message_path: str | None = None
    max_pages: int | None = Field(default=None, ge=1)

    @field_validator("headers")
    @classmethod
    def _header_values(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        # a non-ASCII header fails every request of the source with an internal error: say so here
        for name, header in (value or {}).items():
            _header_value(f"headers.{name}", name)
            _header_value(f"headers.{name}", header)
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        # checked here, or every poll of the source fails with an internal error
        if value is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"未知时区 / unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value


class AnnouncementSettings(_Strict):
    """RSS 2.0, Atom, or a JSON list of {id, title, url, published}; auto-detected unless given."""

    format: Literal["auto", "rss", "atom", "json"] = "auto"
    json_list_path: str | None = None  # where the list sits in a JSON document; default: the root
    platform_name: str | None = None  # shown in the notice, e.g. "抖音"


class _SourceBase(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")  # "poller:<id>" fits comment.source (64)
    enabled: bool = True
    account: AccountRef | None = None
    targets: list[str] | Literal["recent"] = Field(default_factory=list)
    interval: float = 300.0
    jitter: float | None = None  # default: 10% of the interval
    base_url: str | None = None
    credentials: dict[str, str] = Field(default_factory=dict)  # role -> ENV VAR NAME
    backfill: float = 24 * 3600.0  # the first run reads this far back
    # Read this far below the high-water mark each poll: comments appearing late with an older time
    # (review queues, clock skew) are still caught; ids already stored in the window are skipped.
    overlap: float = 600.0
    notify_channel: str | None = None  # where notices go; default: the account's channels / default
    timeout: float = 15.0
    backoff: BackoffSettings = Field(default_factory=BackoffSettings)

    @field_validator("interval", "backfill", "timeout", "overlap", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("jitter", mode="before")
    @classmethod
    def _jitter(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)

    @field_validator("targets", mode="before")
    @classmethod
    def _targets_as_text(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [str(v) if isinstance(v, int) else v for v in value]
        return value

    @field_validator("credentials")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for role, name in value.items():
            if not _ENV_NAME.match(name):
                # The value is not echoed: it may be a secret pasted by mistake.
                raise ValueError(
                    f"credentials.{role}: 应填环境变量的名字（大写，如 DOUYIN_ACCESS_TOKEN），"
                    "不要直接填密钥本身（值不显示）/ must be the NAME of an environment variable "
                    "(upper case, e.g. DOUYIN_ACCESS_TOKEN), never the secret itself (value not shown)"
                )
        return value

    @field_validator("targets")
    @classmethod
    def _targets_not_blank(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list) and any(not target.strip() for target in value):
            raise ValueError("目标 id 不能为空 / a target id cannot be empty")
        return value

    @field_validator("notify_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        # A malformed address ("general", "slack:") is never delivered: the source's unhealthy and
        # re-authorisation notices would wait in the outbox for good and nobody would hear of them.
        if value is None:
            return value
        from bot.config import _channel_address  # bot.config imports this module: import at use

        return _channel_address(value)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("interval")
    @classmethod
    def _interval_range(cls, value: float) -> float:
        if not 1 <= value <= MAX_INTERVAL_SECONDS:
            raise ValueError("轮询间隔应在 1 秒到 7 天之间 / interval must be between 1 second and 7 days")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout_range(cls, value: float) -> float:
        if not 0 < value <= MAX_TIMEOUT_SECONDS:
            raise ValueError(
                "请求超时应大于 0 且不超过 600 秒 / timeout must be above 0 and at most 600 seconds"
            )
        return value

    @property
    def effective_jitter(self) -> float:
        return self.jitter if self.jitter is not None else round(self.interval * 0.1, 3)


#: how a comment source's API lists a target's comments
CommentOrder = Literal["newest_first", "oldest_first"]


class _CommentSource(_SourceBase):
    # newest_first (the default): pages are read from the top down to the known comments, and a page
    # found getting newer down the list still switches that target to reading to its end (with a
    # warning). oldest_first declares what a crawler export or vendor API is known to do, so every scan
    # reads to the end from the first page on, with nothing to learn and nothing to warn about.
    order: CommentOrder = "newest_first"

    @model_validator(mode="after")
    def _needs_account_and_targets(self) -> _CommentSource:
        if self.account is None:
            raise ValueError("account is required (platform and account_id)")
        if self.targets == []:
            raise ValueError("targets must list at least one video/post id, or be 'recent'")
        return self


class BilibiliSource(_CommentSource):
    type: Literal["bilibili"]
    settings: BilibiliSettings = Field(default_factory=BilibiliSettings)

    @field_validator("targets")
    @classmethod
    def _numeric_aids(cls, value: list[str] | str) -> list[str] | str:
        # The reply API takes the numeric aid (oid); a BV id is refused by every poll, so say it now.
        if isinstance(value, list):
            bad = [t for t in value if not (t.strip().isascii() and t.strip().isdigit())]
            if bad:
                raise ValueError(
                    f"B 站目标须为视频的数字 aid / bilibili targets must be the video's numeric aid (oid), "
                    f"not {', '.join(repr(t) for t in bad)}"
                )
        return value



class DouyinSource(_CommentSource):
    type: Literal["douyin"]
    settings: DouyinSettings = Field(default_factory=DouyinSettings)



class WeiboSource(_CommentSource):
    type: Literal["weibo"]
    settings: WeiboSettings = Field(default_factory=WeiboSettings)



class GenericJsonSource(_CommentSource):
    type: Literal["generic_json"]
    settings: GenericJsonSettings = Field(default_factory=GenericJsonSettings)

    @model_validator(mode="after")
    def _has_path(self) -> GenericJsonSource:
        if self.settings.preset is None and not self.settings.path and self.base_url is None:
            raise ValueError("generic_json needs base_url (and usually settings.path) or a preset")
        if self.base_url is None:
            raise ValueError("base_url is required for generic_json")
        return self


class AnnouncementsSource(_SourceBase):
    type: Literal["announcements"]
    settings: AnnouncementSettings = Field(default_factory=AnnouncementSettings)
    backfill: float = 0.0  # the first run only remembers what exists, without posting it

    @model_validator(mode="after")
    def _needs_url(self) -> AnnouncementsSource:
        if self.base_url is None:
            raise ValueError("base_url (the feed URL) is required for announcements")
        return self


SourceConfig = Annotated[
    BilibiliSource | DouyinSource | WeiboSource | GenericJsonSource | AnnouncementsSource,
    Field(discriminator="type"),
]


class FeedsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[SourceConfig] = Field(default_factory=list)
    user_agent: str = "crisisbot-feeds/0.1"
    max_connections: int = Field(default=50, ge=1)
    # An explicit forward proxy for every poller request (environment proxy variables are ignored, so
    # what the bot reaches is decided by this file alone), e.g. "http://10.0.0.5:3128".
    proxy: str | None = None

    @field_validator("user_agent")
    @classmethod
    def _user_agent(cls, value: str) -> str:
        # the HTTP client encodes headers as ASCII when the bot is built: "澜肌监控" crashed every command
        return _header_value("user_agent", value)

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        # Checked here: the HTTP client refuses a proxy without an http(s) scheme when the bot is built,
        # which made every command (serve, ingest, sources) end in a traceback. Not echoed: a proxy URL
        # may carry a password.
        if value is None:
            return value
        from urllib.parse import urlsplit

        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "代理须为 http(s) 地址，如 http://10.0.0.5:3128 / proxy must be an http(s) URL such as "
                "http://10.0.0.5:3128 (value not shown)"
            )
        return value.strip()

    @field_validator("sources", mode="before")
    @classmethod
    def _no_sources(cls, value: Any) -> Any:
        # `sources:` with every example commented out is YAML null: no sources
        return [] if value is None else value

    @field_validator("sources", mode="wrap")
    @classmethod
    def _unique_ids(cls, value: Any, handler: Any) -> Any:
        # Checked on the raw entries, so a duplicate id is listed together with every other problem of
        # the sources instead of only once those are fixed.
        duplicates: list[InitErrorDetails] = []
        seen: set[Any] = set()
        for index, entry in enumerate(value if isinstance(value, list) else []):
            source_id = entry.get("id") if isinstance(entry, dict) else getattr(entry, "id", None)
            if not isinstance(source_id, str):
                continue
            if source_id in seen:
                duplicates.append(
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "duplicate_id",
                            "数据源 id 重复 / duplicate id {id}",
                            {"id": repr(source_id)},
                        ),
                        loc=(index, "id"),
                        input=source_id,
                    )
                )
            seen.add(source_id)
        try:
            sources = handler(value)
        except ValidationError as exc:
            if not duplicates:
                raise
            errors = [
                InitErrorDetails(type=e["type"], loc=e["loc"], input=e["input"], ctx=e.get("ctx", {}))
                for e in exc.errors()
            ]
            raise ValidationError.from_exception_data(exc.title, [*errors, *duplicates]) from None
        if duplicates:
            raise ValidationError.from_exception_data(cls.__name__, duplicates)
        return sources

    def source(self, source_id: str) -> Any:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)


#: credentials a poller runs without (bilibili's login cookie; douyin's refresh token, only for refreshing)
OPTIONAL_CREDENTIALS: dict[str, frozenset[str]] = {
    "bilibili": frozenset({"sessdata"}), "douyin": frozenset({"refresh_token"}),
}


def credential_warnings(feeds: FeedsConfig, environ: Any) -> list[str]:
    """Enabled sources whose credential variables are unset (or blank), for `config check`: such a source
    cannot poll; the poller's own "缺少凭据" reached only `crisisbot poll` and the serve log.

    Warnings, as other missing runtime variables are (half-set Slack or Feishu credentials, the reply
    webhook's secret): secrets are set where the bot runs, not where the config is checked, and `serve`
    still runs every other source."""
    warnings: list[str] = []
    for i, source in enumerate(feeds.sources):
        if not source.enabled:
            continue
        optional = OPTIONAL_CREDENTIALS.get(source.type, frozenset())
        missing = sorted({name for role, name in source.credentials.items()
                          if role not in optional and not (environ.get(name) or "").strip()})
        if missing:
            names = "、".join(missing)
            warnings.append(
                f"feeds.sources[{i}] ({source.id}): 缺少凭据：未设置环境变量 {names}，该数据源无法轮询 / missing "
                f"credentials: {', '.join(missing)} not set: this source cannot poll until they are")
    return warnings


__all__ = [
    "AccountRef",
    "AnnouncementSettings",
    "AnnouncementsSource",
    "BackoffSettings",
    "BilibiliSettings",
    "BilibiliSource",
    "CommentOrder",
    "DouyinSettings",
    "DouyinSource",
    "FeedsConfig",
    "FieldMapping",
    "GenericJsonSettings",
    "GenericJsonSource",
    "SourceConfig",
    "SourceType",
    "WeiboSettings",
    "WeiboSource",
    "credential_warnings",
    "parse_duration",
]
