"""Source schedules and run modes, as plain functions.

A schedule is `@hourly`, `@daily`, `@weekly`, `@manual` or `every <n><m|h|d>` (for example
`every 15m`). A due source gets an incremental run when its family supports it and a watermark
exists, and a full run at least once a week (only a full, complete run may withdraw datasets).
A complete run moves the watermark to its start minus an overlap, so nothing modified during the
run is missed. A source whose runs keep failing (a host gone, a machine offline) is tried less and
less often, down to once a week. A paused source is not scheduled; a removed one runs twice more,
listing nothing (`next_run_of_removed`).
"""

import re
from datetime import datetime, timedelta

NAMED = {"@hourly": timedelta(hours=1), "@daily": timedelta(days=1), "@weekly": timedelta(weeks=1)}
EVERY = re.compile(r"^every\s+(\d+)\s*([mhd])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
INCREMENTAL_FAMILIES = frozenset({"udata", "ods", "ckan"})
FULL_RUN_EVERY = timedelta(weeks=1)
WATERMARK_OVERLAP = timedelta(hours=1)
FAILURE_BACKOFF_CAP = timedelta(weeks=1)


def interval(schedule: str) -> timedelta | None:
    """How often a source runs; None for `@manual`. Raises ValueError for an unknown schedule."""
    text = schedule.strip().lower()
    if text == "@manual":
        return None
    if text in NAMED:
        return NAMED[text]
    if match := EVERY.match(text):
        amount = int(match.group(1))
        if amount <= 0:
            raise ValueError(f"schedule {schedule!r}: the interval must be positive")
        return timedelta(**{UNITS[match.group(2)]: amount})
    raise ValueError(f"unknown schedule {schedule!r}: use @hourly, @daily, @weekly, @manual or 'every 15m'")


def next_run(schedule: str, now: datetime) -> datetime | None:
    step = interval(schedule)
    return now + step if step else None


def next_run_after_failures(schedule: str, failures: int, now: datetime) -> datetime | None:
    """A source that failed `failures` times in a row waits its interval doubled each time past the
    first (1, 2, 4... days for a daily source), up to a week (or its interval, if longer)."""
    step = interval(schedule)
    if step is None or failures <= 0:
        return None
    wait: timedelta = min(step * 2 ** min(failures - 1, 16), max(step, FAILURE_BACKOFF_CAP))
    return now + wait


def mode_for(family: str, watermark: datetime | None, last_full_at: datetime | None, now: datetime) -> str:
    if family not in INCREMENTAL_FAMILIES or watermark is None:
        return "full"
    if last_full_at is None or now - last_full_at >= FULL_RUN_EVERY:
        return "full"
    return "incremental"


def new_watermark(run_started_at: datetime) -> datetime:
    return run_started_at - WATERMARK_OVERLAP


def next_run_of_removed(removed_at: datetime, grace: timedelta, now: datetime) -> datetime | None:
    """A removed source runs twice without fetching anything: at once (its records become missing),
    then once the withdrawal grace has passed (the consolidator withdraws them); then never again."""
    final = removed_at + grace + timedelta(seconds=1)
    return final if now < final else None
