"""An operator's decisions on a source, each one audited (`harvest.source_changes`, with who made it):

- pause: no longer scheduled (a run can still be asked for);
- resume: scheduled again from now (a removed source comes back);
- move: a new address for the same source (its id, runs, records and history stay);
- remove: the source lists nothing from now on. It runs twice more without asking its portal, at
  once and once the withdrawal grace has passed, so the consolidator withdraws its records as it does
  any record a portal stopped listing; a dataset another source still lists stays.
"""

from datetime import datetime

import asyncpg

from services.harvester import repository, schedules
from services.harvester.repository import Source


class Refused(Exception):
    """The change cannot be made (said in French, for the operator)."""


async def pause(conn: asyncpg.Connection, source: Source, actor: str, now: datetime) -> None:
    await repository.set_paused(conn, source.id, True, None)
    await repository.record_change(conn, source.id, "paused", actor)


async def resume(conn: asyncpg.Connection, source: Source, actor: str, now: datetime) -> None:
    await repository.set_paused(conn, source.id, False, schedules.next_run(source.schedule, now) or now)
    await repository.record_change(conn, source.id, "resumed", actor)


async def remove(conn: asyncpg.Connection, source: Source, actor: str, now: datetime) -> None:
    if source.removed_at is not None:
        raise Refused(f"source déjà supprimée le {source.removed_at.isoformat()}")
    await repository.remove(conn, source.id, now)
    await repository.record_change(conn, source.id, "removed", actor)


async def move(conn: asyncpg.Connection, source: Source, actor: str, url: str) -> None:
    existing = await repository.source_with_url(conn, url)
    if existing and existing != source.id:
        raise Refused(f"la source {existing} a déjà cette adresse")
    await repository.move(conn, source.id, url)
    await repository.record_change(conn, source.id, "moved", actor, {"from": source.url, "to": url})
