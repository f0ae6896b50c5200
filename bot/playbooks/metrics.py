"""Negative-share arithmetic for runs (pure): time buckets, the normal range, the exit suggestion."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import ensure_aware
from bot.reports.charts import SharePoint


def floor_time(moment: datetime, bucket: timedelta) -> datetime:
    """The start of the bucket holding `moment` (buckets aligned on the Unix epoch, in UTC)."""
    moment = ensure_aware(moment)
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return epoch + ((moment - epoch) // bucket) * bucket


def share_series(
    labelled: Iterable[tuple[datetime, str | None]], start: datetime, end: datetime, bucket: timedelta
) -> list[SharePoint]:
    """Buckets from `start` to `end` (every bucket present, empty ones with total 0) counting scored
    comments (label neg/neu/pos; unscored ones are ignored) and negative ones."""
    first, last = floor_time(start, bucket), floor_time(end, bucket)
    counts: dict[datetime, list[int]] = {}
    cursor = first
    while cursor <= last:
        counts[cursor] = [0, 0]
        cursor += bucket
    for created_at, label in labelled:
        if label not in ("neg", "neu", "pos"):
            continue
        key = floor_time(created_at, bucket)
        if key in counts:
            counts[key][1] += 1
            counts[key][0] += label == "neg"
    return [SharePoint(key, neg, total) for key, (neg, total) in counts.items()]


def overall_share(points: Iterable[SharePoint]) -> tuple[float | None, int]:
    negative = total = 0
    for point in points:
        negative += point.negative
        total += point.total
    return (negative / total if total else None), total


@dataclass(frozen=True, slots=True)
class ExitCheck:
    """Whether the negative share has been back within its normal range for the hold time."""

    suggest: bool
    normal_max: float | None
    window_share: float | None
    window_comments: int
    reason: str


def normal_max_for(
    baseline_share: float | None,
    baseline_comments: int,
    *,
    absolute_max: float | None,
    margin: float,
    min_comments: int,
) -> float | None:
    """The upper end of the normal range: the configured absolute maximum, else baseline + margin
    (None when the baseline has too few comments to mean anything)."""
    if absolute_max is not None:
        return absolute_max
    if baseline_share is None or baseline_comments < min_comments:
        return None
    return min(1.0, baseline_share + margin)


def check_exit(
    points: list[SharePoint],
    *,
    normal_max: float | None,
    hold: timedelta,
    now: datetime,
    run_start: datetime,
    min_comments: int,
) -> ExitCheck:
    """Suggest resolving when the run is older than `hold`, the last `hold` holds at least `min_comments`
    scored comments, and the negative share over it, and over each of its halves, is at most `normal_max`."""
    if normal_max is None:
        return ExitCheck(False, None, None, 0, "没有常态基线 / no baseline for the normal range")
    if now - run_start < hold:
        return ExitCheck(False, normal_max, None, 0, "运行时间不足 / the run is younger than the hold time")
    window = [p for p in points if p.start >= now - hold]  # whole buckets inside the hold time
    share, comments = overall_share(window)
    if comments < min_comments:
        return ExitCheck(False, normal_max, share, comments, "评论太少，无法判断 / too few comments to judge")
    # The whole window and each half of it must be normal: single small buckets are too noisy to
    # judge alone, and a late resurgence must not hide behind a calm first half.
    middle = now - hold / 2
    for part in (window, [p for p in window if p.start < middle], [p for p in window if p.start >= middle]):
        part_share, part_comments = overall_share(part)
        if part_share is not None and part_share > normal_max:
            return ExitCheck(False, normal_max, share, comments, "仍高于常态 / still above the normal range")
    return ExitCheck(True, normal_max, share, comments, "已回到常态 / back within the normal range")
