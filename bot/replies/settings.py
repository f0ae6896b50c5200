"""Config section for this feature (`replies:` in config/crisisbot.yaml). Unknown keys are refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class PriorityWeights(BaseModel):
    """How much each signal counts towards an item's priority (0..100 once normalised)."""

    model_config = ConfigDict(extra="forbid")

    # Reach (likes, replies, the author's followers) and risk terms weigh most: a comment seen by thousands
    # or naming 12315 / 律师 / 曝光 is where a crisis starts. These used to be 40 negativity, 25 risk, 15
    # likes, 10 followers, 10 age with likes saturating at 1000: a day-old backlog of ordinary complaints
    # (full age, a hundred likes) then outranked a comment ingested just now with 12,000 likes and 退款.
    negativity: float = Field(12.0, ge=0)
    risk: float = Field(35.0, ge=0)
    likes: float = Field(30.0, ge=0)
    replies: float = Field(5.0, ge=0)
    followers: float = Field(8.0, ge=0)
    age: float = Field(10.0, ge=0)
    # Signals saturate here, on a log scale: this many likes / replies / followers count as "the most"
    # (so 12,000 likes still counts well above 141; with 1000 as the top both were nearly "the most").
    likes_saturation: int = Field(100_000, ge=1)
    replies_saturation: int = Field(10_000, ge=1)
    followers_saturation: int = Field(10_000_000, ge=1)


class ApprovalConfig(BaseModel):
    """When a reply needs a second person (with the approver role) before it is posted as the brand."""

    model_config = ConfigDict(extra="forbid")

    accounts: list[str] = Field(default_factory=list, description="'platform:account_id' always needing approval")
    negative: bool = False  # replies to negative comments need approval
    risk: bool = False  # replies to comments with risk flags need approval
    role: str = "approver"


class PostingConfig(BaseModel):
    """Where a reply with text is posted: a generic outgoing webhook, per account (else recorded by hand)."""

    model_config = ConfigDict(extra="forbid")

    webhook_url: str | None = None
    # Only these accounts post through the webhook; empty means every account when webhook_url is set.
    accounts: list[str] = Field(default_factory=list)
    # The webhook's secret comes from this environment variable (never from a file): sent as the bearer token
    # and the HMAC-SHA256 key of X-Crisisbot-Signature. Unset: replies go out unsigned (config check warns).
    secret_env: str = "CRISISBOT_REPLY_WEBHOOK_SECRET"
    timeout_seconds: float = Field(10.0, gt=0)

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """An address the bot can POST to. Without this a typo ("127.0.0.1:9000/replies", no scheme) was
        accepted and every reply was retried forever while its item showed as replied."""
        if value is None or not value.strip():
            return None
        from urllib.parse import urlsplit

        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"webhook_url 应为 http:// 或 https:// 开头的完整地址，例如 http://127.0.0.1:9000/replies / "
                             f"must be a full http:// or https:// URL, got {value!r}")
        return value


class RemindersConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    every_minutes: int = Field(15, ge=1)
    # Remind only about items at least this overdue, and at most once per item per this many minutes.
    repeat_minutes: int = Field(60, ge=1)
    max_items: int = Field(5, ge=1, le=50)


class RepliesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sla_minutes: int = Field(120, ge=1, description="time to first response for ordinary comments")
    sla_minutes_negative: int = Field(30, ge=1, description="for negative comments or ones with risk flags")
    claim_minutes: int = Field(15, ge=1, le=24 * 60)
    default_limit: int = Field(5, ge=1, le=50)
    max_limit: int = Field(50, ge=1, le=200)
    weights: PriorityWeights = Field(default_factory=PriorityWeights)
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)
    posting: PostingConfig = Field(default_factory=PostingConfig)
    reminders: RemindersConfig = Field(default_factory=RemindersConfig)
    # A comment that reaches the bot more than this many hours after it was written (an imported export,
    # a poller catching up after days away) is stored and scored as usual but kept as queue history: not
    # listed, no reply deadline, no overdue reminders, not in the SLA figures. Without this, importing
    # last month's comments put every unanswered one in the queue as "overdue by weeks". null: queue all.
    history_after_hours: int | None = Field(None, ge=1, le=24 * 366)
    # Lists and templates; relative paths are looked up next to the config file, then the working
    # directory, then the repository's config/ folder.
    precheck_file: str = "precheck.yaml"
    templates_file: str = "reply_templates.yaml"

    @model_validator(mode="after")
    def _history_after_the_deadline(self) -> RepliesConfig:
        """History must start after the longest reply deadline: a shorter cutoff would keep comments out of
        the queue before anyone was even late answering them."""
        if self.history_after_hours is not None:
            longest = max(self.sla_minutes, self.sla_minutes_negative)
            if self.history_after_hours * 60 <= longest:
                raise ValueError(
                    f"history_after_hours（{self.history_after_hours} 小时）应长于最长的回复时限（{longest} 分钟）/ "
                    f"history_after_hours ({self.history_after_hours} h) must be longer than the longest reply "
                    f"deadline ({longest} min)")
        return self

    @field_validator("approval")
    @classmethod
    def _account_keys(cls, value: ApprovalConfig) -> ApprovalConfig:
        for key in value.accounts:
            if ":" not in key:
                raise ValueError(f"account {key!r} must be 'platform:account_id'")
        return value
