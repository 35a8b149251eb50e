"""Consolidation through the real broker and PostgreSQL: one canonical dataset across portals (on
simulated portals that mirror and federate each other), withdrawals after complete runs only, a
whole run replayed without effect, and accepted contributions that win until the portal changes."""

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.consolidator import handlers, repository
from services.consolidator.app import SCHEMA
from services.consolidator.identity import canonical_id, identity_key
from services.harvester.handlers import run_id_for
from services.harvester.repository import Source, add_source
from shared.batch import Handled
from shared.events import (
    CanonicalDataset,
    ContributionAccepted,
    DatasetDiscovered,
    DocumentRef,
    Event,
    HarvestRunFinished,
    Publisher,
    Resource,
    UpstreamOrigin,
)
from shared.identifiers import with_luhn_digit
from shared.matching import MatcherCache
from shared.messaging import add_to_outbox
from shared.settings import Settings
from simulated_portals.app import source_url
from simulated_portals.catalogue import World, build_world, dataset, is_mirrored
from tests.support.db import connect_as
from tests.support.events import request_runs
from tests.support.kafka import drained, produce, produce_many, read_all, wait_for
from tests.support.portals import serving

pytestmark = pytest.mark.integration


# --- on simulated portals ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def mirrors_world(settings: Settings) -> World:
    """Two ODS portals (the second federates the first), CKAN, DCAT, ArcGIS, udata, CSW, and data.gouv.fr
    holding copies of half the local datasets."""
    world = build_world(
        portals=7, datasets_per_portal=24, seed=5, referentiel=settings.referentiel_path, mirrored_share=0.5
    )
    assert [p.family for p in world.portals].count("ods") == 2
    return world


@pytest.fixture(scope="module")
async def mirrors_portal(settings: Settings, mirrors_world: World) -> AsyncIterator[str]:
    async with serving(mirrors_world, settings, 1) as url:
        yield url


@pytest.fixture
async def registry(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect_as(settings, "consolidator")
    yield conn
    await conn.close()


async def harvest(settings: Settings, source_ids: list[str]) -> list[str]:
    """Ask for a run of each source; return the run ids."""
    return [run_id_for(command) for command in await request_runs(settings, source_ids)]


async def accounted(registry: asyncpg.Connection, run_ids: list[str], timeout: float = 120) -> list[asyncpg.Record]:
    """Wait until the consolidator has every dataset of these runs and has applied their withdrawals."""

    async def done() -> list[asyncpg.Record] | None:
        rows = await registry.fetch(
            "SELECT * FROM registry.harvest_runs WHERE run_id = ANY($1::text[]) AND withdrawals_at IS NOT NULL",
            run_ids,
        )
        return rows if len(rows) == len(run_ids) else None

    result: list[asyncpg.Record] = await wait_for(done, timeout=timeout)
    return result


async def test_a_dataset_on_several_portals_is_one_canonical_dataset(
    referentiel, services, settings: Settings, mirrors_world: World, mirrors_portal: str, registry: asyncpg.Connection
) -> None:
    conn = await connect_as(settings, "harvester")
    source_ids = []
    for spec in mirrors_world.portals:
        source_id = f"mirrors-{spec.slug}"
        url = source_url(mirrors_world, mirrors_portal, spec.family, spec.slug)
        await add_source(conn, Source(id=source_id, url=url, family=spec.family, name=spec.slug))
        source_ids.append(source_id)
    await conn.close()
    first_runs = await harvest(settings, source_ids)
    runs = await accounted(registry, first_runs)
    assert {r["status"] for r in runs} == {"done"}

    datagouv = next(p for p in mirrors_world.portals if p.slug == mirrors_world.datagouv_slug)
    locals_ = [p for p in mirrors_world.portals if p is not datagouv]
    federating = next(p for p in locals_ if mirrors_world.federation_source(p))
    federated = [i for i in range(federating.size) if dataset(federating, i).federated_from]
    assert federated, "the world must federate some datasets"
    # Every local dataset once, data.gouv.fr's own datasets once; copies (mirrors, federation) add nothing.
    expected = sum(p.size for p in locals_) + datagouv.size - len(federated)
    records = await registry.fetchval(
        "SELECT count(*) FROM registry.dataset_sources WHERE source_id = ANY($1::text[])", source_ids
    )
    assert records == sum(p.size for p in locals_) + datagouv.size + len(mirrors_world.mirrors)
    live = await registry.fetchval(
        """SELECT count(DISTINCT dataset_id) FROM registry.dataset_sources s JOIN registry.datasets d
           ON d.id = s.dataset_id WHERE s.source_id = ANY($1::text[]) AND NOT d.withdrawn""",
        source_ids,
    )
    assert live == expected

    # A CKAN dataset copied on data.gouv.fr: one dataset, two records, the local one is its origin.
    ckan = next(p for p in locals_ if p.family == "ckan")
    index = next(i for i in range(ckan.size) if is_mirrored(ckan, i))
    dataset_id = canonical_id(
        identity_key(f"{settings.http_host}:{settings.simulator_port + 1}", dataset(ckan, index).id)
    )
    state = json.loads(await registry.fetchval("SELECT state FROM registry.datasets WHERE id = $1", dataset_id))
    assert sorted((s["source_id"], s["origin"]) for s in state["sources"]) == [
        (f"mirrors-{ckan.slug}", True),
        (f"mirrors-{datagouv.slug}", False),
    ]
    assert state["title"] == dataset(ckan, index).title.strip()
    # Its organisation, with the evidence of the match (the matcher's rule and confidence, which record).
    if state["organization_id"]:
        assert state["attribution"]["rule"] and 0 < state["attribution"]["confidence"] <= 1
        assert state["attribution"]["source_id"] in {f"mirrors-{datagouv.slug}", f"mirrors-{ckan.slug}"}

    # A federated ODS dataset is the dataset of the portal it comes from.
    source = mirrors_world.federation_source(federating)
    assert source is not None
    copy = dataset(federating, federated[0])
    own = await registry.fetchval(
        "SELECT dataset_id FROM registry.dataset_sources WHERE source_id = $1 AND remote_id LIKE $2",
        f"mirrors-{federating.slug}",
        f"%/explore/dataset/{copy.id}/",
    )
    origin = dataset(source, federated[0] % source.size)
    theirs = await registry.fetchval(
        "SELECT dataset_id FROM registry.dataset_sources WHERE source_id = $1 AND remote_id LIKE $2",
        f"mirrors-{source.slug}",
        f"%/explore/dataset/{origin.id}/",
    )
    assert own is not None and own == theirs

    # Harvesting everything again changes nothing and announces nothing.
    before = await registry_state(registry)
    announced = await datasets_announced(settings, registry)
    await accounted(registry, await harvest(settings, source_ids))
    assert await registry_state(registry) == before
    assert await datasets_announced(settings, registry) == announced

    # Delivering the first harvest's events again, as at-least-once delivery may, changes nothing either.
    again = [(r.key, r.value) for r in await read_all(settings, "harvest.datasets") if _run_of(r.value) in first_runs]
    assert len(again) == records
    await produce_many(settings, "harvest.datasets", again)
    await drained(settings, "consolidator", "harvest.datasets")
    assert await registry_state(registry) == before
    assert await datasets_announced(settings, registry) == announced


def _run_of(message: bytes) -> str | None:
    """The run of a harvested dataset; None for what another test left there (poison messages)."""
    try:
        run_id: str | None = json.loads(message).get("run_id")
    except ValueError:
        return None
    return run_id


async def registry_state(registry: asyncpg.Connection) -> list[Any]:
    """The registry as consumers see it (what changes on every sighting, last seen times, is left out)."""
    datasets = await registry.fetch("SELECT id, state_hash, withdrawn FROM registry.datasets ORDER BY id")
    records = await registry.fetch(
        """SELECT source_id, remote_id, dataset_id, content_hash, organization_id, missing_since, withdrawn_at
           FROM registry.dataset_sources ORDER BY source_id, remote_id"""
    )
    organizations = await registry.fetch("SELECT id, state FROM registry.organizations ORDER BY id")
    return [list(map(tuple, rows)) for rows in (datasets, records, organizations)]


async def datasets_announced(settings: Settings, registry: asyncpg.Connection) -> int:
    """DatasetChanged events on the topic, once the outbox has relayed everything."""
    await wait_for(lambda: _outbox_empty(registry))
    return len(await read_all(settings, "registry.datasets", idle_ms=800))


async def _outbox_empty(registry: asyncpg.Connection) -> bool:
    return bool(await registry.fetchval("SELECT count(*) = 0 FROM registry.outbox"))


# --- with events written by hand -----------------------------------------------------------------


def siren(prefix: str) -> str:
    return with_luhn_digit(prefix)


def record(
    source: str,
    remote_id: str,
    run_id: str,
    *,
    title: str = "Budget primitif",
    publisher_siren: str | None = None,
    files: tuple[str, ...] = (),
) -> DatasetDiscovered:
    publisher = Publisher(name=f"Publisher {publisher_siren or source}", siren=publisher_siren)
    return DatasetDiscovered(
        producer="test",
        run_id=run_id,
        source_id=source,
        portal_kind="ckan",
        portal_url=f"http://{source}.test",
        remote_id=remote_id,
        publisher=publisher,
        title=title,
        resources=[Resource(url=url, format="csv") for url in files],
        content_hash=f"{title}|{publisher_siren}|{files}",
    )


def finished(source: str, run_id: str, items: int, started: datetime, *, complete: bool = True) -> HarvestRunFinished:
    return HarvestRunFinished(
        producer="test",
        run_id=run_id,
        source_id=source,
        status="done" if complete else "partial",
        items_seen=items,
        errors=0 if complete else 1,
        complete=complete,
        mode="full",
        started_at=started,
    )


async def send(settings: Settings, *events: Event) -> None:
    for event in events:
        await produce(settings, event.topic, event.model_dump_json().encode(), key=event.key().encode())


async def dataset_of(registry: asyncpg.Connection, source: str, remote_id: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        state = await registry.fetchval(
            "SELECT d.state FROM registry.datasets d JOIN registry.dataset_sources s ON s.dataset_id = d.id"
            " WHERE s.source_id = $1 AND s.remote_id = $2",
            source,
            remote_id,
        )
        return json.loads(state) if state else None

    result: dict[str, Any] = await wait_for(found, timeout=60)
    return result


async def test_withdrawals_follow_complete_runs_only_once_every_dataset_is_in_and_are_undone(
    services, settings: Settings, registry: asyncpg.Connection
) -> None:
    source, t0 = "withdrawals", datetime.now(UTC)
    first = [record(source, f"w{n}", "w-run-1") for n in range(3)]
    await send(settings, *first, finished(source, "w-run-1", 3, t0))
    await accounted(registry, ["w-run-1"])

    # The second run announces its end first: nothing moves until its two datasets are consolidated.
    t1 = datetime.now(UTC)
    await send(settings, finished(source, "w-run-2", 2, t1))
    await wait_for(lambda: _run_known(registry, "w-run-2"))
    assert (await dataset_of(registry, source, "w2"))["withdrawn"] is False
    await send(settings, *[record(source, f"w{n}", "w-run-2") for n in range(2)])
    runs = await accounted(registry, ["w-run-2"])
    assert runs[0]["withdrawn"] == 1
    gone = await dataset_of(registry, source, "w2")
    assert gone["withdrawn"] is True and gone["sources"][0]["withdrawn_at"]
    assert (await dataset_of(registry, source, "w1"))["withdrawn"] is False

    # A partial run withdraws nothing, even what it did not see.
    await send(
        settings, record(source, "w0", "w-run-3"), finished(source, "w-run-3", 1, datetime.now(UTC), complete=False)
    )
    runs = await accounted(registry, ["w-run-3"])
    assert runs[0]["withdrawn"] == 0
    assert (await dataset_of(registry, source, "w1"))["withdrawn"] is False

    # It comes back when it reappears; its history keeps every state.
    await send(settings, record(source, "w2", "w-run-4"))
    await wait_for(lambda: _withdrawn(registry, source, "w2", False))
    history = await registry.fetch(
        "SELECT change FROM registry.dataset_history WHERE dataset_id = $1 ORDER BY id", gone["id"]
    )
    assert [r["change"] for r in history] == ["created", "withdrawn", "updated"]


async def _run_known(registry: asyncpg.Connection, run_id: str) -> bool:
    row = await registry.fetchrow(
        "SELECT expected, withdrawals_at FROM registry.harvest_runs WHERE run_id = $1", run_id
    )
    return bool(row and row["expected"] is not None and row["withdrawals_at"] is None)


async def _withdrawn(registry: asyncpg.Connection, source: str, remote_id: str, expected: bool) -> bool:
    return (await dataset_of(registry, source, remote_id))["withdrawn"] is expected


async def test_a_landing_page_too_long_to_index_and_a_publisher_that_changes(
    services, settings: Settings, registry: asyncpg.Connection
) -> None:
    # The same landing page, too long to index as it is (4,000 bytes of query that PostgreSQL cannot
    # compress), on two portals: one dataset.
    page = f"http://geo.test/carte?jeton={secrets.token_hex(2000)}"
    await send(
        settings,
        record("portal-e", "carte", "e-run").model_copy(update={"remote_url": page}),
        record("portal-f", "carte", "f-run").model_copy(update={"remote_url": page.replace("http:", "https:")}),
    )
    joined = await dataset_of(registry, "portal-f", "carte")  # the later record: the first is in by then
    assert joined["id"] == (await dataset_of(registry, "portal-e", "carte"))["id"]
    assert sorted(s["source_id"] for s in joined["sources"]) == ["portal-e", "portal-f"]

    # A dataset moved from one organisation to another on its portal.
    first, second = siren("90000001"), siren("90000002")  # no collectivité: no other test uses them
    await send(settings, record("portal-d", "moved", "d-run-1", publisher_siren=first))
    assert (await dataset_of(registry, "portal-d", "moved"))["organization_id"] == first
    await send(settings, record("portal-d", "moved", "d-run-2", publisher_siren=second))

    async def moved() -> bool:
        return bool((await dataset_of(registry, "portal-d", "moved"))["organization_id"] == second)

    await wait_for(moved)
    # The evidence of the attribution: the portal's SIREN created the organisation, from this record.
    assert (await dataset_of(registry, "portal-d", "moved"))["attribution"] == {
        "rule": "siren-new",
        "confidence": 1.0,
        "source_id": "portal-d",
        "publisher": f"Publisher {second}",
    }
    history = await registry.fetch(
        "SELECT state->>'organization_id' AS organization FROM registry.dataset_history d"
        " JOIN registry.dataset_sources s ON s.dataset_id = d.dataset_id WHERE s.remote_id = 'moved' ORDER BY d.id"
    )
    assert [r["organization"] for r in history] == [first, second]


async def _while_another_instance_holds(
    settings: Settings, registry: asyncpg.Connection, first_events: list[DatasetDiscovered], second: DatasetDiscovered
) -> None:
    """Consolidate `first_events` in an open transaction of one instance, `second` on another
    instance meanwhile, then commit the first: the second must wait for it (on the identity lock).
    What each emits goes to the outbox, as the running consolidator's batches do, so that the services
    downstream (the indicators and their read models) hear of these datasets too."""
    one, other = await connect_as(settings, "consolidator"), await connect_as(settings, "consolidator")

    async def consolidated(conn: asyncpg.Connection, events: list[DatasetDiscovered]) -> None:
        handled = await handlers.datasets_discovered(conn, events, MatcherCache(), timedelta(days=7))
        await add_to_outbox(conn, SCHEMA, settings, handled.emitted)

    async def consolidate(conn: asyncpg.Connection, event: DatasetDiscovered) -> None:
        async with conn.transaction():
            await consolidated(conn, [event])

    try:
        open_batch = one.transaction()
        await open_batch.start()
        await consolidated(one, first_events)
        waiting = asyncio.create_task(consolidate(other, second))

        async def blocked() -> bool:
            query = "SELECT wait_event FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'"
            return bool(await registry.fetchval(query, other.get_server_pid()) == "advisory")

        await wait_for(blocked, timeout=30)
        await open_batch.commit()
        await asyncio.wait_for(waiting, timeout=30)
    finally:
        await one.close()
        await other.close()


async def test_two_instances_consolidating_a_dataset_and_its_copy_at_once_make_one_dataset(
    services, settings: Settings, registry: asyncpg.Connection
) -> None:
    """Two records of one dataset on two portals, known as one by their files only, consolidated at
    the same moment by two instances: the second waits for the first, then joins its dataset."""
    files = ("http://portal-r.test/files/arbres-remarquables.csv",)
    original = record("portal-r", "arbres", "r-run", files=files)
    copy = record("portal-s", "arbres-copie", "s-run", files=files)
    await _while_another_instance_holds(settings, registry, [original], copy)
    joined = await dataset_of(registry, "portal-s", "arbres-copie")
    assert joined["id"] == (await dataset_of(registry, "portal-r", "arbres"))["id"]
    assert sorted(s["source_id"] for s in joined["sources"]) == ["portal-r", "portal-s"]


async def test_a_record_that_joins_a_dataset_another_instance_is_merging_ends_in_the_merged_one(
    services, settings: Settings, registry: asyncpg.Connection
) -> None:
    """Instance one merges dataset A into dataset B (a federated copy names both); instance two
    meanwhile consolidates a record known to A by its files. One at a time, the record ends with A's
    records in B, whichever comes first; it must not end alone in A, withdrawn a moment before."""
    files = ("http://portal-ma.test/files/bornes.csv",)
    a = record("portal-ma", "bornes", "ma-run", files=files)
    b = record("portal-mb", "bornes-b", "mb-run")
    await send(settings, a, b)
    await wait_for(lambda: _consolidated(registry, ["portal-ma", "portal-mb"]))
    federated = record("portal-mc", "https://portal-ma.test/explore/dataset/bornes/", "mc-run").model_copy(
        update={"upstream": UpstreamOrigin(remote_id="bornes-b", domain="portal-mb.test")}
    )
    same_files = record("portal-md", "bornes-d", "md-run", files=files)
    await _while_another_instance_holds(settings, registry, [federated], same_files)
    ids = {source: (await dataset_of(registry, source, remote))["id"] for source, remote in
           (("portal-ma", "bornes"), ("portal-mb", "bornes-b"), ("portal-mc", federated.remote_id),
            ("portal-md", "bornes-d"))}  # fmt: skip
    assert len(set(ids.values())) == 1, ids
    merged = await dataset_of(registry, "portal-md", "bornes-d")
    assert not merged["withdrawn"]
    assert sorted(s["source_id"] for s in merged["sources"]) == ["portal-ma", "portal-mb", "portal-mc", "portal-md"]


async def test_keys_of_a_dataset_absorbed_twice_lead_to_the_last_survivor(
    services, settings: Settings, registry: asyncpg.Connection
) -> None:
    """A merged into B, then B into C: a new record known only by A's files joins C, and the
    redirects of A and B both name C (keys stay with the dataset that claimed them)."""
    files = ("http://portal-ka.test/files/parcs.csv",)
    a, b, c = (
        record("portal-ka", "parcs", "ka-run", files=files),
        record("portal-kb", "parcs-b", "kb-run"),
        record("portal-kc", "parcs-c", "kc-run"),
    )
    await send(settings, a, b, c)
    await wait_for(lambda: _consolidated(registry, ["portal-ka", "portal-kb", "portal-kc"]))
    first = {s: (await dataset_of(registry, s, r))["id"] for s, r in (("portal-ka", "parcs"), ("portal-kb", "parcs-b"),
                                                                       ("portal-kc", "parcs-c"))}  # fmt: skip
    a_into_b = record("portal-kd", "https://portal-ka.test/explore/dataset/parcs/", "kd-run").model_copy(
        update={"upstream": UpstreamOrigin(remote_id="parcs-b", domain="portal-kb.test")}
    )
    await send(settings, a_into_b)
    await wait_for(lambda: _in_one_dataset(registry, ["portal-ka", "portal-kb", "portal-kd"]))
    b_into_c = record("portal-ke", "https://portal-kb.test/explore/dataset/parcs-b/", "ke-run").model_copy(
        update={"upstream": UpstreamOrigin(remote_id="parcs-c", domain="portal-kc.test")}
    )
    await send(settings, b_into_c)
    await wait_for(lambda: _in_one_dataset(registry, ["portal-ka", "portal-kb", "portal-kc", "portal-kd", "portal-ke"]))
    await send(settings, record("portal-kf", "parcs-f", "kf-run", files=files))
    joined = await dataset_of(registry, "portal-kf", "parcs-f")
    assert joined["id"] == first["portal-kc"] and not joined["withdrawn"]
    assert len(joined["sources"]) == 6
    redirects = await registry.fetch(
        "SELECT absorbed, survivor FROM registry.merged_datasets WHERE absorbed = ANY($1::text[]) ORDER BY 1",
        [first["portal-ka"], first["portal-kb"]],
    )
    assert {r["absorbed"]: r["survivor"] for r in redirects} == {
        first["portal-ka"]: first["portal-kc"],
        first["portal-kb"]: first["portal-kc"],
    }


async def _in_one_dataset(registry: asyncpg.Connection, sources: list[str]) -> bool:
    query = """SELECT count(DISTINCT source_id) = $2 AND count(DISTINCT dataset_id) = 1
               FROM registry.dataset_sources WHERE source_id = ANY($1::text[])"""
    return bool(await registry.fetchval(query, sources, len(sources)))


async def test_a_record_seen_again_unchanged_waits_for_no_other_instance(
    services, settings: Settings, registry: asyncpg.Connection
) -> None:
    """Most of a re-harvest is records seen again as they were: they decide no grouping, so they are
    handled while another instance holds the identity lock (its batch still open here)."""
    seen = record("portal-u", "stable", "u-run-1")
    await send(settings, seen)
    await dataset_of(registry, "portal-u", "stable")
    one, other = await connect_as(settings, "consolidator"), await connect_as(settings, "consolidator")
    try:
        open_batch = one.transaction()
        await open_batch.start()
        await handlers.datasets_discovered(one, [record("portal-v", "new", "v-run")], MatcherCache(), timedelta(days=7))
        async with other.transaction():
            again = seen.model_copy(update={"run_id": "u-run-2"})
            handled = await asyncio.wait_for(
                handlers.datasets_discovered(other, [again], MatcherCache(), timedelta(days=7)), timeout=10
            )
        assert handled == Handled([], already_applied=0)  # a sighting of its own; nothing changed, nothing announced
        await open_batch.rollback()
    finally:
        await one.close()
        await other.close()


async def _consolidated(registry: asyncpg.Connection, sources: list[str]) -> bool:
    query = "SELECT count(DISTINCT source_id) FROM registry.dataset_sources WHERE source_id = ANY($1::text[])"
    return bool(await registry.fetchval(query, sources) == len(sources))


async def test_a_contribution_wins_until_the_portal_changes_the_value(
    services, settings: Settings, registry: asyncpg.Connection
) -> None:
    owner = siren("90000003")
    await send(settings, record("portal-e", "typo", "e-run-1", title="Budjet", publisher_siren=owner))
    dataset = await dataset_of(registry, "portal-e", "typo")

    def accepted(field: str, value: Any, contribution_id: str, dataset_id: str | None = None) -> ContributionAccepted:
        return ContributionAccepted(
            producer="test",
            contribution_id=contribution_id,
            organization_id=owner,
            dataset_id=dataset_id,
            field=field,
            value=value,
            moderator="moderator@test",
        )

    await send(settings, accepted("title", "Budget", "c-1", dataset["id"]))

    async def titled(title: str) -> dict[str, Any] | None:
        state = await dataset_of(registry, "portal-e", "typo")
        return state if state["title"] == title else None

    fixed = await wait_for(lambda: titled("Budget"))
    assert fixed["provenance"] == {"title": "contribution:c-1"}

    # The portal says the same as before: the contribution stays.
    await send(settings, record("portal-e", "typo", "e-run-2", title="Budjet", publisher_siren=owner))
    await accounted_record(registry, "portal-e", "typo", "e-run-2")
    assert (await dataset_of(registry, "portal-e", "typo"))["title"] == "Budget"

    # The portal changes the title: the portal wins again.
    await send(settings, record("portal-e", "typo", "e-run-3", title="Budget primitif 2025", publisher_siren=owner))
    restored = await wait_for(lambda: titled("Budget primitif 2025"))
    assert restored["provenance"] == {}

    # An organisation's agents, contributed, decide its obligation.
    await send(settings, accepted("agents", 12, "c-2"))

    async def obligation() -> dict[str, Any] | None:
        state = await registry.fetchval("SELECT state FROM registry.organizations WHERE id = $1", owner)
        found = json.loads(state)["obligation"] if state else None
        return found if found and found.get("agents") == 12 else None

    found = await wait_for(obligation)
    assert found["agents_source"] == "contribution:c-2"

    # A contribution to a field nobody may change is refused: it goes to the dead-letter topic.
    await send(settings, accepted("id", "x", "c-3"))

    async def dead_lettered() -> bool:
        records = await read_all(settings, "contributions.events.dlq", idle_ms=500)
        return any(b"c-3" in (r.value or b"") for r in records)

    assert await wait_for(dead_lettered)


async def accounted_record(registry: asyncpg.Connection, source: str, remote_id: str, run_id: str) -> None:
    async def seen() -> bool:
        return bool(
            await registry.fetchval(
                "SELECT 1 FROM registry.dataset_sources WHERE source_id = $1 AND remote_id = $2 AND last_run_id = $3",
                source,
                remote_id,
                run_id,
            )
        )

    await wait_for(seen)


async def test_the_relay_finds_a_dataset_state_current_or_past(services, registry: asyncpg.Connection) -> None:
    """The outbox names a DatasetChanged's state by dataset and hash (issue 34): the relay reads it in
    `datasets`, or in `dataset_past_states` once the dataset changed again before it published."""
    transaction = registry.transaction()
    await transaction.start()
    try:
        await registry.execute(
            """INSERT INTO registry.datasets (id, state, state_hash, change)
               VALUES ('state-test', '{"v": 1}', 'h1', 'created')"""
        )
        change = repository.DatasetChange(
            CanonicalDataset(id="state-test", organization_id=None, title="x"), '{"v": 2}', "h2", "updated"
        )
        await repository.save_datasets(registry, [change], cause="test")  # h1 moves to the past states
        refs = [DocumentRef("state-test", h) for h in ("h1", "h2", "h3")]
        found = await repository.states_for_outbox(registry, refs)
        assert found == {refs[0]: b'{"v": 1}', refs[1]: b'{"v": 2}'}
    finally:
        await transaction.rollback()
