"""Indicators through the real broker, PostgreSQL and API: a small territory written by hand on the
registry topics (as the consolidator would), its values checked against numbers computed by hand,
recomputed after a change, kept as history and as an edition; then a full recompute changes nothing."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.indicators import handlers
from services.indicators.app import MIGRATIONS
from services.indicators.handlers import Projection
from shared.bootstrap import bootstrap_database, drop_database
from shared.db import apply_migrations, create_pool
from shared.events import (
    CanonicalDataset,
    DatasetChanged,
    DatasetSource,
    Event,
    IndicatorsUpdated,
    Obligation,
    Organization,
    OrganizationChanged,
    Resource,
)
from shared.settings import Settings
from tests.support.db import connect_as
from tests.support.kafka import drained, produce, wait_for
from tests.support.processes import ensure_infrastructure, isolated_settings, run_module

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)
DEP, REG = "9Z", "99"  # a territory no other test uses


def organization(id_: str, type_: str, population: int, *, epci: str | None = None) -> Organization:
    obligated = population > 3_500
    return Organization(
        id=id_,
        name=f"Test {id_}",
        type=type_,
        departement=DEP,
        region=REG,
        epci=epci,
        population=population,
        obligation=Obligation(obligated=obligated, method="population_only", population=population),
    )


ORGANIZATIONS = [
    organization("IND-EPCI", "CA", 80_000),
    organization("IND-C1", "COM", 50_000, epci="IND-EPCI"),
    organization("IND-C2", "COM", 20_000, epci="IND-EPCI"),
    organization("IND-C3", "COM", 2_000),
]


def dataset(id_: str, owner: str, *, fmt: str = "csv", licence: str = "licence-ouverte", national: bool = False,
            withdrawn: bool = False) -> CanonicalDataset:  # fmt: skip
    portal = "https://www.data.gouv.fr" if national else "https://data.agglo.test"
    return CanonicalDataset(
        id=id_,
        organization_id=owner,
        title=f"Jeu {id_}",
        licence=licence,
        themes=["Transport"],
        resources=[Resource(url=f"https://files.test/{id_}.{fmt}", format=fmt)],
        modified=NOW - timedelta(days=10),
        withdrawn=withdrawn,
        sources=[
            DatasetSource(
                source_id="s",
                portal_kind="udata" if national else "ods",
                portal_url=portal,
                remote_id=id_,
                first_seen=NOW,
                last_seen=NOW,
            )
        ],
    )


@pytest.fixture(scope="module", autouse=True)
async def territories_taken_off(infrastructure: Settings):
    """The organisations these tests write on the registry's topic exist nowhere else: at the end they
    are written again as merged, so that the lists other tests read (the api's read model of the
    registry) no longer show them. (On `infrastructure`, not `settings`: a test on a database of its
    own, run alone, would otherwise leave the session's database uncreated for this teardown.)"""
    settings = infrastructure
    yield
    conn = await connect_as(settings, "indicators")
    try:
        if await conn.fetchval("SELECT to_regclass('indicators.organization_list')") is None:
            return  # no indicators service ran on the session's database: nothing is listed there
        listed = "SELECT id FROM indicators.organization_list WHERE id LIKE 'IND-%'"
        ids = [r["id"] for r in await conn.fetch(listed)]
        gone = [Organization(id=i, name=f"Test {i}", status="merged") for i in ids]
        await send(settings, *[OrganizationChanged(producer="test", organization=o) for o in gone])
        await wait_for(lambda: _none(conn, listed), timeout=60)
    finally:
        await conn.close()


async def _none(conn: Any, sql: str) -> bool:
    return not await conn.fetch(sql)


async def send(settings: Settings, *events: Event) -> None:
    for event in events:
        await produce(settings, event.topic, event.model_dump_json().encode(), key=event.key().encode())


async def indicators(http: Any, api: str, scope: str, scope_id: str) -> dict[str, Any] | None:
    async with http.get(f"{api}/api/v1/indicators", params={"scope": scope, "id": scope_id}) as response:
        if response.status != 200:
            return None
        body = await response.json()
    values: dict[str, Any] = body["data"][0]["values"]
    return values


async def test_a_territory_s_indicators_match_the_hand_computed_values(services, settings: Settings, http) -> None:
    api = services["api"].url
    await send(settings, *[OrganizationChanged(producer="test", organization=o) for o in ORGANIZATIONS])
    created = [
        dataset("ind-1", "IND-EPCI"),
        dataset("ind-2", "IND-EPCI", fmt="pdf", licence="autre"),
        dataset("ind-3", "IND-C3", national=True),
    ]
    await send(settings, *[DatasetChanged(producer="test", change="created", dataset=d) for d in created])

    async def territory(expected_datasets: int) -> dict[str, Any] | None:
        values = await indicators(http, api, "departement", DEP)
        return values if values and values["datasets"] == expected_datasets else None

    values = await wait_for(lambda: territory(3), timeout=60)
    assert values["organizations"] == 4 and values["organizations_publishing"] == 2
    # Obligated: the agglomeration and the two large communes; only the agglomeration publishes.
    assert (values["obligated"], values["obligated_publishing"], values["opening_rate"]) == (3, 1, round(1 / 3, 6))
    # Communes covered: C1 and C2 through their agglomeration, C3 by itself: all 72,000 inhabitants.
    assert (values["population"], values["population_covered"], values["coverage_rate"]) == (72_000, 72_000, 1.0)
    assert (values["channel_local_only"], values["channel_national_only"], values["channel_both"]) == (1, 1, 0)
    assert values["open_format_share"] == round(2 / 3, 6) and values["open_licence_share"] == round(2 / 3, 6)
    assert values["fresh_share"] == 1.0 and values["theme:Transport"] == 3
    agglomeration = await indicators(http, api, "organization", "IND-EPCI")
    assert agglomeration and (agglomeration["datasets"], agglomeration["open_format_share"]) == (2, 0.5)

    # C3 withdraws its only dataset: it stops publishing, and its inhabitants are no longer covered.
    withdrawn_on = datetime.now(UTC).date()
    await send(
        settings,
        DatasetChanged(producer="test", change="withdrawn", dataset=dataset("ind-3", "IND-C3", withdrawn=True)),
    )
    values = await wait_for(lambda: territory(2), timeout=60)
    assert (values["population_covered"], values["coverage_rate"]) == (70_000, round(70_000 / 72_000, 6))
    assert values["organizations_publishing"] == 1

    # History: today's snapshot holds the latest values; an edition keeps them for its year.
    async with http.get(
        f"{api}/api/v1/indicators/history", params={"scope": "departement", "id": DEP, "indicator": "datasets"}
    ) as response:
        history = await response.json()
    # The snapshot is dated the day it was computed: between the withdrawal and the answer (a run can cross midnight).
    latest = history["series"][-1]
    assert latest["values"] == {"datasets": 2}
    assert withdrawn_on <= date.fromisoformat(latest["at"]) <= datetime.now(UTC).date()
    await run_module(settings, "services.indicators", "edition", "--year", "2025")
    async with http.get(
        f"{api}/api/v1/indicators/history",
        params={"scope": "departement", "id": DEP, "kind": "edition", "indicator": "population_covered"},
    ) as response:
        editions = await response.json()
    assert {"at": "2025", "values": {"population_covered": 70_000}} in editions["series"]

    # Recomputing everything from the projection finds nothing the incremental path missed.
    await drained(settings, "indicators", "registry.organizations")
    await drained(settings, "indicators", "registry.datasets")
    output = await run_module(settings, "services.indicators", "recompute")
    assert output.strip() == "0 scopes changed"

    async with http.get(f"{api}/api/v1/indicators", params={"scope": "planet"}) as response:
        assert response.status == 400 and "portée inconnue" in (await response.json())["error"]["message"]


def council_row(id_: str, type_: str, departement: str | None) -> Organization:
    """A row of a single council serving région 98 and its départements 9Y and 9X (as the Collectivité de
    Corse serves 94, 2A and 2B)."""
    return Organization(
        id=id_, name=f"Test {id_}", type=type_, departement=departement, region="98", population=300_000,
        obligation=Obligation(obligated=True, method="population_only", population=300_000), council_id="IND-R98",
    )  # fmt: skip


async def test_a_single_council_publishing_through_its_region_row_publishes_in_its_departements(
    services, settings: Settings, http
) -> None:
    api = services["api"].url
    rows = [
        council_row("IND-R98", "REG", None),
        council_row("IND-D9Y", "DEP", "9Y"),
        council_row("IND-D9X", "DEP", "9X"),
    ]
    communes = [
        Organization(id=f"IND-C{d}", name=f"Test C{d}", type="COM", departement=d, region="98", population=10_000,
                     obligation=Obligation(obligated=True, method="population_only", population=10_000))
        for d in ("9Y", "9X")
    ]  # fmt: skip
    await send(settings, *[OrganizationChanged(producer="test", organization=o) for o in [*rows, *communes]])
    await send(settings, DatasetChanged(producer="test", change="created", dataset=dataset("ind-r98", "IND-R98")))

    async def departement(code: str, publishing: int) -> dict[str, Any] | None:
        values = await indicators(http, api, "departement", code)
        return values if values and values["obligated"] == 2 and values["obligated_publishing"] == publishing else None

    for code in ("9Y", "9X"):
        values = await wait_for(lambda code=code: departement(code, 1), timeout=60)
        assert (values["opening_rate"], values["coverage_rate"], values["datasets"]) == (0.5, 1.0, 1)
    region = await indicators(http, api, "region", "98")
    assert region and (region["obligated"], region["obligated_publishing"], region["datasets"]) == (3, 1, 1)

    # The council withdraws its only dataset: it stops publishing in each territory it serves.
    withdrawn = dataset("ind-r98", "IND-R98", withdrawn=True)
    await send(settings, DatasetChanged(producer="test", change="withdrawn", dataset=withdrawn))
    values = await wait_for(lambda: departement("9X", 0), timeout=60)
    assert (values["population_covered"], values["datasets"]) == (0, 0)


async def test_entries_and_exits_count_from_the_last_edition(services, settings: Settings, http) -> None:
    api = services["api"].url
    communes = [
        Organization(id=f"IND-E{n}", name=f"Test E{n}", type="COM", departement="9W", region="97", population=5_000,
                     obligation=Obligation(obligated=True, method="population_only", population=5_000))
        for n in (1, 2)
    ]  # fmt: skip
    await send(settings, *[OrganizationChanged(producer="test", organization=o) for o in communes])
    await send(settings, DatasetChanged(producer="test", change="created", dataset=dataset("ent-1", "IND-E1")))

    async def territory(**expected: Any) -> dict[str, Any] | None:
        values = await indicators(http, api, "departement", "9W")
        return values if values and all(values.get(k) == v for k, v in expected.items()) else None

    await wait_for(lambda: territory(datasets=1), timeout=60)
    # This year's edition, taken by hand: E1 publishes then; every scope now counts from it.
    await drained(settings, "indicators", "registry.datasets")
    await run_module(settings, "services.indicators", "edition", "--year", str(NOW.year))
    values = await wait_for(lambda: territory(entered_since_edition=0), timeout=60)
    assert (values["since_edition"], values["left_since_edition"]) == (NOW.year, 0)

    # E2 starts publishing and E1's only dataset is withdrawn: one entry, one exit, through the service.
    await send(
        settings,
        DatasetChanged(producer="test", change="created", dataset=dataset("ent-2", "IND-E2")),
        DatasetChanged(producer="test", change="withdrawn", dataset=dataset("ent-1", "IND-E1", withdrawn=True)),
    )
    values = await wait_for(lambda: territory(entered_since_edition=1, left_since_edition=1), timeout=60)
    assert values["organizations_publishing"] == 1


async def database_of_its_own(label: str, port: int) -> Settings:
    """Settings of a database only this test uses, with the indicators' schema migrated (dropped by the test)."""
    settings = isolated_settings(label, port)
    ensure_infrastructure()
    await bootstrap_database(settings)
    pool = await create_pool(settings, "indicators", max_size=1)
    await apply_migrations(pool, "indicators", MIGRATIONS)
    await pool.close()
    return settings


async def test_two_instances_bring_each_other_up_to_date_by_what_changed() -> None:
    """Two indicators instances share the work (one consumer group): each batch of one moves the
    projection's version, and the other brings its copy up to date by reloading the organisations that
    batch changed, not the whole registry; the copy then equals a full load. On a database of its own:
    the organisations it adds exist nowhere else."""
    settings = await database_of_its_own("projection", 26000)
    first, second = Projection(), Projection()
    conns = [await connect_as(settings, "indicators") for _ in range(2)]
    owner = organization("IND-PROJ", "COM", 9_000)
    # This year's edition exists already (taking it, from 8 October on, makes every instance reload).
    await conns[0].execute(
        """INSERT INTO indicators.editions (year, scope, scope_id, "values", taken_at)
           VALUES ($1, 'national', 'FR', '{}', now())""",
        NOW.year,
    )
    try:
        for conn, projection in zip(conns, (first, second), strict=True):
            async with conn.transaction():
                await projection.current(conn)
        async with conns[0].transaction():
            await handlers.organizations_changed(
                conns[0], [OrganizationChanged(producer="test", organization=owner)], first
            )
        async with conns[0].transaction():
            changed = [DatasetChanged(producer="test", change="created", dataset=dataset("ind-proj-1", owner.id))]
            await handlers.datasets_changed(conns[0], changed, ("https://www.data.gouv.fr",), first)
        async with conns[1].transaction():
            await handlers.serialise(conns[1])  # nobody changes the projection while both are compared
            caught_up = await second.current(conns[1])
            full = await Projection().current(conns[1])
            scopes = {("national", "FR"), ("departement", DEP), ("organization", owner.id)}
            assert caught_up.organizations == full.organizations and caught_up.publications == full.publications
            assert caught_up.compute(scopes) == full.compute(scopes)
    finally:
        for conn in conns:
            await conn.close()
        await drop_database(settings)
    assert caught_up.publications[owner.id].datasets == 1
    assert second.reloads["full"] == 1 and second.reloads["partial"] >= 1  # loaded once, then by changes


async def test_the_batch_that_takes_the_edition_still_announces_its_own_changes(monkeypatch) -> None:
    """From 8 October the first recomputation takes the year's edition and recomputes every scope; the
    scopes of the batch itself, stored before, are announced all the same. On a database of its own."""
    monkeypatch.setattr(handlers, "EDITION_DAY", (1, 1))  # whatever today's date: the edition is due
    settings = await database_of_its_own("edition", 26100)
    conn = await connect_as(settings, "indicators")
    newcomer = organization("IND-EDITION", "COM", 4_000)
    try:
        async with conn.transaction():
            emitted = await handlers.organizations_changed(
                conn, [OrganizationChanged(producer="test", organization=newcomer)], Projection()
            )
        assert await conn.fetchval("SELECT count(*) FROM indicators.editions WHERE year = $1", NOW.year) > 0
    finally:
        await conn.close()
        await drop_database(settings)
    announced = {(e.scope, e.scope_id) for e in emitted if isinstance(e, IndicatorsUpdated)}
    assert {("organization", "IND-EDITION"), ("departement", DEP), ("national", "FR")} <= announced


async def test_the_indexes_probed_record_by_record_keep_no_pending_list(services, settings: Settings) -> None:
    """A batch finds the datasets and reuses of its records by one GIN probe per record; each probe would
    read GIN's whole pending list of unmerged entries (20,000 probes: 70 s against 0.15 s, migration 016),
    so every GIN index on records writes its entries at once."""
    conn = await connect_as(settings, "indicators")
    try:
        indexes = await conn.fetch(
            """SELECT c.relname, coalesce(c.reloptions, '{}') AS options FROM pg_index i
               JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
               WHERE c.relnamespace = 'indicators'::regnamespace AND a.amname = 'gin'
                 AND pg_get_indexdef(i.indexrelid, 1, true) = 'records'"""
        )
    finally:
        await conn.close()
    assert {r["relname"] for r in indexes} == {"datasets_by_record", "reuses_by_record"}
    assert all("fastupdate=off" in r["options"] for r in indexes), indexes


async def test_a_batch_s_facts_are_stored_in_one_statement_field_for_field_and_titles_kept_when_not_given() -> None:
    """The facts go through migration 017's type: every field lands in its own column (two of its
    fourteen text arrays swapped would pass a count), and a batch that names no title keeps the one
    stored. On a database of its own."""
    from services.indicators import repository
    from services.indicators.facts import DatasetFacts

    settings = await database_of_its_own("facts", 26200)
    conn = await connect_as(settings, "indicators")
    first = DatasetFacts(
        id="ind-facts-1", organization_id="ORG-1", withdrawn=False, licence="etalab-2.0", formats=("csv", "json"),
        modified=NOW, themes=("mobilite",), schemas=("etalab/schema-irve",), portals=("https://a.example",),
        technologies=("udata",), national=True, local=False, records=("s1:r1", "s2:r2"), reuses=("s1:u1",),
        audience=(("udata:views", 120),), communes=("01001",),
    )  # fmt: skip
    moved = DatasetFacts(id="ind-facts-1", organization_id="ORG-2", withdrawn=True, formats=("xml",), local=True)
    other = DatasetFacts(id="ind-facts-2", organization_id=None, withdrawn=False)
    try:
        async with conn.transaction():
            assert await repository.upsert_datasets(conn, [first], {"ind-facts-1": "Horaires des bus"}) == {}
            before = await repository.upsert_datasets(conn, [moved, other])  # no titles: a reuse or audience change
        kept = await conn.fetchval("SELECT title FROM indicators.datasets WHERE id = 'ind-facts-1'")
        async with conn.transaction():
            assert before == {"ind-facts-1": first}
            again = await repository.upsert_datasets(conn, [first], {"ind-facts-1": "Horaires des cars"})
        rows = {r["id"]: r["title"] for r in await conn.fetch("SELECT id, title FROM indicators.datasets")}
    finally:
        await conn.close()
        await drop_database(settings)
    assert kept == "Horaires des bus"
    assert again == {"ind-facts-1": moved}
    assert rows == {"ind-facts-1": "Horaires des cars", "ind-facts-2": ""}


async def test_a_publication_s_tallies_are_written_by_the_keys_that_moved_and_read_back_whole() -> None:
    """Migration 018: a batch writes the tally keys its datasets moved (the unattributed datasets'
    summary has thousands), a key counted down to zero leaves no row, a publication stored without
    knowing what was there replaces every key, and a summary of the older format is tallied again.
    On a database of its own."""
    from services.indicators import repository
    from services.indicators.facts import EMPTY, DatasetFacts, publication_of

    settings = await database_of_its_own("tallies", 26300)
    conn = await connect_as(settings, "indicators")
    bus = DatasetFacts("ind-t-1", None, False, "odbl", ("csv",), NOW, ("Transport",), (), ("https://a.example",),
                       ("ods",), reuses=("s:r1",), audience=(("ods:downloads", 4),))  # fmt: skip
    car = DatasetFacts("ind-t-2", None, False, "odbl", ("csv",), NOW - timedelta(days=3), ("Culture",), (),
                       ("https://b.example",), ("ckan",), reuses=("s:r1", "s:r2"))  # fmt: skip
    first, both = publication_of([bus], NOW), publication_of([bus, car], NOW)
    second = publication_of([car], NOW)  # bus withdrawn: its day, theme, portal and audience gone
    try:
        async with conn.transaction():
            await repository.save_publications(conn, {"": first}, {"": EMPTY})
            await repository.save_publications(conn, {"": both}, {"": first})
            await repository.save_publications(conn, {"": second}, {"": both})
            await repository.save_publications(conn, {"ORG-1": both}, {})
        after_moves, _ = await repository.all_publications(conn)
        rows_after_moves = await conn.fetchval("SELECT count(*) FROM indicators.publication_tallies")
        zero_rows = await conn.fetchval("SELECT count(*) FROM indicators.publication_tallies WHERE count = 0")
        async with conn.transaction():  # stored again from its datasets, what was there unknown
            await repository.save_publications(conn, {"ORG-1": second}, None)
            await conn.execute(
                """INSERT INTO indicators.publications VALUES ('ORG-OLD', '{"format": 4, "datasets": 1}')"""
            )
        replaced, outdated = await repository.all_publications(conn)
    finally:
        await conn.close()
        await drop_database(settings)
    assert after_moves == {"": second, "ORG-1": both}
    assert second.reuses == {"s:r1": 1, "s:r2": 1} and "Transport" not in second.themes
    keys = [len(getattr(p, name)) for p in (second, both) for name in ("modified_days", "scdl_schemas", "portals",
            "technologies", "themes", "reuses", "audience", "communes")]  # fmt: skip
    assert rows_after_moves == sum(keys) and zero_rows == 0
    assert replaced == {"": second, "ORG-1": second} and outdated == ["ORG-OLD"]
