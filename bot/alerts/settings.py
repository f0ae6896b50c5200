"""Config section for negative-spike alerts (`alerts:` in config/crisisbot.yaml). Unknown keys are refused."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from typing_extensions import TypedDict

from bot.alerts.detector import KNOB_BOUNDS, DetectorSettings, unknown_knob_message, window_thresholds_problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _account_key(value: str) -> str:
    """`platform:account_id` as comments carry it. "lanji" or "澜肌官方旗舰店" (a name, as `/watch` takes) or
    "tiktok:x" passed `config check`, and the surge or the watched term then applied to no account at all."""
    from bot.config import PLATFORMS  # lazily: bot.config imports this module

    platform, sep, account_id = value.partition(":")
    if not sep or not platform or not account_id.strip():
        raise ValueError("应写成 平台:账号ID，例如 douyin:lanji_official（这里不认账号名称）/ must look like "
                         "'platform:account_id', e.g. 'douyin:lanji_official' (not the account's name)")
    if platform not in PLATFORMS:
        raise ValueError(f"未知的平台 {platform!r}，应为 {'、'.join(PLATFORMS)} 之一 / unknown platform {platform!r}: "
                         f"use one of {', '.join(PLATFORMS)}")
    return value


class SurgeConfig(_Strict):
    """A planned surge (livestream sale, 618/双11, launch): volume up to `factor` x normal is expected."""

    account: Annotated[str, AfterValidator(_account_key)] = Field(description="platform:account_id")
    start: datetime = Field(alias="from")
    until: datetime
    factor: float = Field(default=3.0, gt=1.0, le=100.0)
    note: str = ""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # Field validators, not a model validator: those run only once every field is valid, so a bad
    # `factor` hid a backwards `until` until it was fixed, and `config check` must list both at once.
    @field_validator("start", "until")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("from/until 需要写明时区，例如 2026-11-11T20:00:00+08:00 / "
                             "from/until need a time zone, e.g. 2026-11-11T20:00:00+08:00")
        return value

    @field_validator("until")
    @classmethod
    def _order(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")  # absent when `from` itself was refused
        if start is not None and value.tzinfo is not None and value <= start:
            raise ValueError("until 必须晚于 from / until must be after from")
        return value


def _watch_term(value: str) -> str:
    # matched as a substring: " 维权" (a space kept by YAML quotes) missed "我要维权", and "  " fired on every
    # comment holding two spaces
    term = value.strip()
    if not term:
        raise ValueError("监控词不能为空白 / a watched term must not be blank")
    return term


class WatchTermConfig(_Strict):
    term: Annotated[str, AfterValidator(_watch_term)] = Field(min_length=1)
    account: Annotated[str, AfterValidator(_account_key)] | None = Field(
        default=None, description="platform:account_id; all accounts when empty")


def _user_address(value: str) -> str:
    # a bare name ("bob") passed, and the live escalation then @-mentioned nobody
    from bot.config import CHAT_PLATFORMS  # lazily: bot.config imports this module

    platform, sep, user = value.partition(":")
    if not sep or not platform or not user.strip():
        raise ValueError("应写成 平台:用户ID / must look like 'platform:user_id', e.g. 'slack:U0123ABCD'")
    if platform not in CHAT_PLATFORMS:
        raise ValueError(f"未知的聊天平台 / chat platform {platform!r} is not one of {', '.join(CHAT_PLATFORMS)}")
    return value


def _knob_type(name: str, hint: Any) -> Any:
    """The pydantic type of one detector knob: its dataclass type with the detector's own bounds."""
    def bounded(kind: Any) -> Any:
        bounds: dict[str, Any] = dict(KNOB_BOUNDS.get(name, {}))
        if kind is float:
            bounds["allow_inf_nan"] = False  # .inf would pass `gt: 0`
        return Annotated[kind, Field(**bounds)] if bounds else kind

    if get_origin(hint) is tuple:
        items = list[bounded(get_args(hint)[0])]  # type: ignore[misc]
        return Annotated[items, Field(min_length=1)] if name == "windows" else items
    return bounded(hint)


# The overrides as a TypedDict: validated per key (so each bad knob is its own problem with its path,
# Chinese first like every pydantic error) and still a plain dict for DetectorSettings.from_dict.
DetectorOverrides = TypedDict(  # type: ignore[misc]  # noqa: UP013 - built from the dataclass
    "DetectorOverrides",
    {name: _knob_type(name, hint) for name, hint in get_type_hints(DetectorSettings).items()},
    total=False,
)
_OVERRIDES = TypeAdapter(DetectorOverrides)
_DEFAULTS = DetectorSettings()


def _custom(loc: tuple[Any, ...], value: Any, message: str) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError("detector_setting", "{message}", {"message": message}),
                            loc=loc, input=value)


def _detector_overrides(value: Any, handler: Any) -> Any:
    """Unknown keys (with the closest name), each knob's type and range, and one threshold per window,
    all reported together."""
    if not isinstance(value, dict):
        return handler(value)
    known = DetectorSettings.__dataclass_fields__
    errors = [_custom((key,), item, unknown_knob_message([key])) for key, item in value.items() if key not in known]
    result = None
    try:
        result = handler({key: item for key, item in value.items() if key in known})
    except ValidationError as exc:
        errors += [InitErrorDetails(type=e["type"], loc=tuple(e["loc"]), input=e["input"], ctx=e.get("ctx", {}))
                   for e in exc.errors()]
    windows = value.get("windows", _DEFAULTS.windows)
    thresholds = value.get("window_thresholds", _DEFAULTS.window_thresholds)
    if isinstance(windows, (list, tuple)) and isinstance(thresholds, (list, tuple)):
        mismatch = window_thresholds_problem(windows, thresholds)
        if mismatch:
            errors.append(_custom(("window_thresholds",), thresholds, mismatch))
    if errors:
        raise ValidationError.from_exception_data("detector", errors)
    return result


def _known_severities(value: list[str], hint: str) -> list[str]:
    unknown = sorted(set(value) - {"sev1", "sev2", "sev3"})
    if unknown:
        raise ValueError(f"未知的级别 / unknown severity {', '.join(unknown)}: {hint}")
    return value


class EscalationConfig(_Strict):
    """Re-notify unacknowledged sev1/sev2 alerts, mentioning the on-call rota in order."""

    enabled: bool = True
    after_minutes: float = Field(default=15.0, gt=0)
    max_notifications: int = Field(default=3, ge=1, le=20)
    severities: list[str] = Field(default_factory=lambda: ["sev1", "sev2"])
    #: on-call order (platform:user_id); empty = the members of `roles.<rota_role>` in the main config
    rota: list[Annotated[str, AfterValidator(_user_address)]] = Field(default_factory=list)
    rota_role: str = "oncall"

    @field_validator("severities")
    @classmethod
    def _known_severities(cls, value: list[str]) -> list[str]:
        # a typo ("sve1", "SEV1", "1") silently meant "never escalate" for that severity
        return _known_severities(value, "use sev1, sev2 and/or sev3")


class AlertsConfig(_Strict):
    enabled: bool = True
    bucket_minutes: int = Field(default=5, ge=1, le=60)
    #: a bucket is closed and judged this long after it ends (late comments still count)
    close_grace_seconds: int = Field(default=20, ge=0, le=600)
    #: how often `serve` closes due buckets (and runs the other periodic checks: scheduled reports,
    #: ingest hand-offs) when no comments arrive
    tick_seconds: int = Field(default=5, ge=1, le=300)
    #: per-content-item streams (a single video going bad) besides the account-level stream
    per_content: bool = True
    #: detector knob overrides (see bot.alerts.detector.DetectorSettings), e.g. {window_thresholds: [12, 12, 7]}
    detector: Annotated[DetectorOverrides, WrapValidator(_detector_overrides)] = Field(default_factory=dict)
    #: per-bucket comment counts (alert_bucket rows, one per stream and bucket) older than this many days
    #: are deleted every few hours; alerts read 9 days back with the defaults, so a shorter value is
    #: refused. The comments themselves stay (reports, backtests), as do the streams' learnt baselines.
    bucket_retention_days: int = Field(default=14, ge=1, le=3660, validate_default=True)
    surges: list[SurgeConfig] = Field(default_factory=list)
    watch_terms: list[WatchTermConfig] = Field(default_factory=list)
    #: risk-watch notices are grouped: one message per term per account per this many minutes
    risk_window_minutes: int = Field(default=60, ge=1, le=1440)
    #: a negative comment with at least this many likes posts a notice at once (0 = off)
    liked_negative_min_likes: int = Field(default=500, ge=0)
    #: comments already older than this when they arrive (last month's export imported for the baseline)
    #: are history: counted as usual but they post no risk-term or liked-negative notice (null = they do;
    #: the same key as `replies.history_after_hours`, on by default here: a notice is news or noise)
    history_after_hours: int | None = Field(default=24, ge=1, le=24 * 366)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    #: suggested playbook per severity (the playbooks feature runs it on 启动预案)
    playbooks: dict[str, str] = Field(default_factory=lambda: {
        "sev1": "negative-outbreak", "sev2": "negative-outbreak", "sev3": "negative-outbreak"})
    #: sev3 alerts in a channel's quiet hours wait until the quiet hours end (sev1 never waits)
    hold_in_quiet_hours: list[str] = Field(default_factory=lambda: ["sev3"])

    @field_validator("bucket_retention_days")
    @classmethod
    def _keep_what_alerts_read(cls, value: int, info: ValidationInfo) -> int:
        # Declared after the fields it depends on (pydantic validates in order); one of them refused is
        # reported on its own, and the check then uses its default.
        from bot.alerts.service import CATCH_UP, bucket_reach  # lazily: the service imports the storage layer

        fields = cls.model_fields
        minutes = info.data.get("bucket_minutes", fields["bucket_minutes"].default)
        grace = info.data.get("close_grace_seconds", fields["close_grace_seconds"].default)
        try:
            detector = DetectorSettings.from_dict(info.data.get("detector") or {})
        except (TypeError, ValueError):
            detector = _DEFAULTS
        reach = bucket_reach(timedelta(minutes=minutes), timedelta(seconds=grace), detector)
        needed = math.ceil(reach / timedelta(days=1))
        catch_up_days = CATCH_UP.days
        if value < needed:
            hours = reach / timedelta(hours=1)
            raise ValueError(
                f"至少应为 {needed} 天：告警判断和告警说明最多读取 {hours:.0f} 小时前的分桶计数"
                f"（补判 {catch_up_days} 天，加上最长检测窗口），删得更早会让它们读到空桶 / must be at least "
                f"{needed} days: alerts read bucket counts up to {hours:.0f} hours back (the {catch_up_days}-day "
                f"catch-up plus the longest detector window), and would read pruned buckets as empty")
        return value

    @field_validator("playbooks")
    @classmethod
    def _playbook_severities(cls, value: dict[str, str]) -> dict[str, str]:
        # "sev4" or "SEV1" was kept and never looked up: that severity silently suggested no playbook
        _known_severities(list(value), "use sev1, sev2 and/or sev3")
        return value

    @field_validator("hold_in_quiet_hours")
    @classmethod
    def _never_hold_sev1(cls, value: list[str]) -> list[str]:
        _known_severities(value, "use sev2 and/or sev3")
        if "sev1" in value:
            # a sev1 is the crisis people must hear about at 3 a.m.; holding it would defeat the alert
            raise ValueError("一级告警不能在静默时段等待 / sev1 alerts never wait for quiet hours: use sev2 and/or sev3")
        return value
