"""What operators watch: each source's last harvest, the consumers' lag and the dead letters.
Served at /api/v1/operations/status, shown on the front end's "Exploitation" page and printed by
`make status` (`python -m services.api status`)."""

from typing import Any

import asyncpg

from shared import topics
from shared.kafka import groups_lag, message_counts
from shared.settings import Settings


async def sources(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT s.id, s.name, s.family, s.url, s.enabled, s.removed_at, s.next_run_at, r.status, r.mode, r.items_seen,
                  r.errors,
                  r.complete, r.finished_at, r.message
           FROM harvest_read.sources s
           LEFT JOIN LATERAL (SELECT * FROM harvest_read.runs WHERE source_id = s.id
                              ORDER BY requested_at DESC LIMIT 1) r
               ON true
           ORDER BY (r.status IN ('failed', 'partial', 'done-errors')) DESC NULLS LAST, s.id"""
    )
    return [
        {**dict(r), **{k: r[k].isoformat() if r[k] else None for k in ("finished_at", "next_run_at", "removed_at")}}
        for r in rows
    ]


async def status(conn: asyncpg.Connection, settings: Settings, operator: bool) -> dict[str, Any]:
    """The report; the raw message of each source's last run only for an operator (it may quote what
    a portal or another service answered), the public sees the status and the counts."""
    dead_letter_topics = [settings.topic(topics.dlq(spec.name)) for spec in topics.MAIN_TOPICS]
    counts = await message_counts(settings, dead_letter_topics)
    listed = await sources(conn)
    if not operator:
        listed = [{**s, "message": None} for s in listed]
    return {
        "messages_shown": operator,
        "sources": listed,
        "lag": await groups_lag(settings),
        "dead_letters": [{"topic": t, "messages": n} for t, n in counts.items()],
    }


def as_text(report: dict[str, Any]) -> str:
    """The report as the terminal shows it."""
    lines = ["Sources (dernière moisson)"]
    for s in report["sources"]:
        counts = f"{s['items_seen'] or 0:>7} jeux {s['errors'] or 0:>5} erreurs"
        next_run = f"  prochaine : {s['next_run_at'][:16]}" if s["next_run_at"] else ""
        last = f"{s['finished_at'] or ''}  {s['message'] or ''}{next_run}".rstrip()
        lines.append(f"  {s['id']:<40} {s['family']:<7} {s['status'] or 'jamais':<12} {counts}  {last}")
    lines.append("Retard des consommateurs")
    lines += [f"  {g['group']:<60} {g['topic']:<40} {g['lag']:>8}" for g in report["lag"]]
    lines.append("Lettres mortes")
    lines += [f"  {d['topic']:<40} {d['messages']:>8}" for d in report["dead_letters"]]
    return "\n".join(lines)
