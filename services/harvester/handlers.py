"""Harvest runs, in three steps:

1. `queue_requested` (the harvest.commands consumer): a HarvestRequested becomes a queued run, in
   the same transaction as the inbox claim; the run id derives from the event id, so a redelivered
   command queues nothing more. The command is acknowledged at once: a long harvest never holds
   the partition.
2. `runs.RunExecutor` claims queued runs and walks each source with its family's backend (runs.py).
3. `schedule_due_sources` emits a HarvestRequested (through the outbox) for every source whose
   schedule is due, in incremental mode when the family supports it and a watermark exists.
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from services.harvester import repository, schedules
from services.harvester.detection import Detection
from services.harvester.fetch import (
    FetchError,
    FetchPolicy,
    check_address,
)
from shared.events import (
    ContributionAccepted,
    ContributionEvent,
    Event,
    HarvestRequested,
)

log = logging.getLogger(__name__)
RUN_NAMESPACE = uuid.UUID("0b7f5d84-2f38-4a42-9a0e-3c1d2a5e7f61")


def run_id_for(command: HarvestRequested) -> str:
    return str(uuid.uuid5(RUN_NAMESPACE, str(command.event_id)))


async def queue_requested(conn: asyncpg.Connection, command: HarvestRequested) -> list[Event]:
    if await repository.get_source(conn, command.source_id) is None:
        raise ValueError(f"unknown harvest source {command.source_id!r}")
    await repository.queue_run(conn, run_id_for(command), command.source_id, command.mode, command.requested_by)
    return []


def accepted_portal(event: ContributionEvent) -> dict[str, Any] | None:
    """The portal of an accepted contribution, if it is one."""
    if isinstance(event, ContributionAccepted) and event.field == "portal" and isinstance(event.value, dict):
        return event.value
    return None


async def contribution_accepted(
    conn: asyncpg.Connection, event: ContributionEvent, policy: FetchPolicy, detected: Detection | None = None
) -> list[Event]:
    """A portal a moderator accepted for an organisation becomes a source, harvested at once and then
    daily, unless a source already has its address or the address is refused (logged). A portal of
    technology "auto" takes the family detection found (`detected`, probed before the transaction)."""
    portal = accepted_portal(event)
    if portal is None:
        return []
    url, family = str(portal["url"]), str(portal["technology"])
    if family == "auto":
        if detected is None or detected.family is None or detected.url is None:
            log.warning(
                "contributed portal of no known family", extra={"url": url, "tried": detected and detected.tried}
            )
            return []
        url, family = detected.url, detected.family
    if await repository.source_with_url(conn, url):
        return []
    try:
        await check_address(url, policy.allow_private)
    except FetchError as exc:
        log.warning("contributed portal refused", extra={"url": url, "reason": exc.reason})
        return []
    host = urlsplit(url).hostname or url
    source = repository.Source(
        id=f"contribution-{event.contribution_id[:8]}", url=url, family=family, name=f"{host} ({family})",
        owner_organization=event.organization_id,
    )  # fmt: skip
    await repository.add_source(conn, source, next_run_at=datetime.now(UTC))
    return []


async def schedule_due_sources(conn: asyncpg.Connection, now: datetime, grace: timedelta) -> list[Event]:
    """HarvestRequested for every due source (the caller writes them to the outbox). A removed source
    gets full runs that list nothing, until its records' withdrawal grace has passed."""
    requests: list[Event] = []
    for source in await repository.due_sources(conn):
        if removed_at := source["removed_at"]:
            mode, later = "full", schedules.next_run_of_removed(removed_at, grace, now)
        else:
            mode = schedules.mode_for(source["family"], source["watermark"], source["last_full_at"], now)
            later = schedules.next_run(source["schedule"], now)
        requests.append(
            HarvestRequested(
                producer="harvester-scheduler",
                source_id=source["id"],
                mode=mode,
                requested_by="scheduler",
            )
        )
        await repository.set_next_run(conn, source["id"], later)
    return requests


async def scheduler_loop(
    pool: asyncpg.Pool,
    write_outbox: Callable[[asyncpg.Connection, list[Event]], Awaitable[None]],
    every_seconds: float,
    grace: timedelta,
) -> None:
    while True:
        try:
            async with pool.acquire() as conn, conn.transaction():
                await write_outbox(conn, await schedule_due_sources(conn, datetime.now(UTC), grace))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduler failed; trying again")
        await asyncio.sleep(every_seconds)
