"""A running matcher (as each consolidator and api instance keeps one) learns what other instances
write to the registry at its next refresh, reading only what changed, on the real registry."""

from datetime import timedelta

import pytest

from services.consolidator import organization_repository
from shared.matching import MatcherCache
from shared.settings import Settings
from tests.support.db import connect_as

pytestmark = pytest.mark.integration

SIG, ROADS = "portal:refresh.test|Service SIG", "portal:refresh.test|Direction des routes"


async def test_aliases_another_instance_writes_or_moves_reach_a_running_matcher(referentiel: Settings) -> None:
    conn, other = await connect_as(referentiel, "consolidator"), await connect_as(referentiel, "consolidator")
    try:
        query = "SELECT id FROM registry.organizations WHERE type = 'DEP' AND status = 'active' ORDER BY id LIMIT 2"
        first, second = [r["id"] for r in await conn.fetch(query)]
        # An alias learned an hour ago, long before the matcher's last refresh.
        await organization_repository.set_aliases(other, [(SIG, first, "portal-publisher")])
        await other.execute("UPDATE registry.aliases SET updated_at = now() - interval '1 hour' WHERE alias = $1", SIG)
        cache = MatcherCache(refresh_seconds=0)
        cache.OVERLAP = timedelta(seconds=1)  # so that the next refresh's window starts after the old alias
        matcher = await cache.get(conn)
        assert matcher.aliases[SIG] == first

        # Another instance moves it and learns a new one, once the matcher's window has moved past the
        # old alias: the matcher sees the move only if moving it marked it as written again.
        await conn.execute("SELECT pg_sleep(1.5)")
        async with other.transaction():
            await organization_repository.set_aliases(
                other, [(SIG, second, "portal-publisher"), (ROADS, second, "portal-publisher")]
            )
        matcher = await cache.get(conn)
        assert matcher.aliases[SIG] == matcher.aliases[ROADS] == second
        best = matcher.match("Service SIG", alias_keys=[SIG]).best
        assert best is not None and best.organization_id == second
    finally:
        await conn.close()
        await other.close()
