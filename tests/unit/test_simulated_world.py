"""The demo's simulated world tells France's story: who publishes is drawn as the Observatoire's
figures say (every région, most départements and large towns, almost no village), larger bodies
publish more, and dataset dates run up to today so freshness means something."""

from collections import Counter
from datetime import timedelta

import pytest

from services.consolidator.referentiel import organizations, read_package
from shared.events import Organization
from shared.settings import Settings
from simulated_portals.catalogue import PoolEntry, World, build_world, dataset, france_publishers, publisher_pool

REFERENTIEL = Settings().referentiel_path


@pytest.fixture(scope="module")
def pool() -> list[PoolEntry]:
    return publisher_pool(REFERENTIEL, seed=2026, count=0)


@pytest.fixture(scope="module")
def registry() -> list[Organization]:
    return organizations(read_package(REFERENTIEL))


@pytest.fixture(scope="module")
def demo() -> World:
    """The world `python -m simulated_portals` serves by default (the demo's)."""
    return build_world(
        portals=8, datasets_per_portal=250, referentiel=REFERENTIEL, publishers="france", national_datasets=4000
    )


def _share(entries: list[PoolEntry], total: int) -> float:
    return len(entries) / total


def test_every_region_most_departements_and_few_villages_publish(pool, registry):
    kinds = Counter(entry.kind for entry in pool)
    assert kinds["REG"] == 18  # the 13 metropolitan and 5 overseas régions, not the COM
    departements = sum(1 for o in registry if o.type == "DEP")
    assert 0.45 < kinds["DEP"] / departements < 0.75  # 60 % in 2020
    communes = [o for o in registry if o.type == "COM" and o.status == "active"]
    published = {entry.siren for entry in pool if entry.kind == "COM"}

    def rate(low: int, high: int) -> float:
        band = [c for c in communes if low <= (c.population or 0) < high]
        return sum(1 for c in band if c.siren in published) / len(band)

    large, middle, small, villages = rate(100_000, 10**8), rate(20_000, 100_000), rate(3_500, 20_000), rate(0, 1000)
    assert large > middle > small > villages
    assert 0.4 < large < 0.8 and 0.12 < middle < 0.3 and 0.04 < small < 0.1
    assert villages < 0.005  # most communes of a few dozen inhabitants publish nothing
    assert 500 < len(pool) < 1200  # the Observatoire counted 868 collectivités publishing in 2022


def test_the_opening_rate_of_obligated_collectivites_is_near_the_observatoire_s(pool, registry):
    ids = {("REG", e.code) for e in pool if e.kind == "REG"} | {("DEP", e.code) for e in pool if e.kind == "DEP"}
    sirens = {e.siren for e in pool if e.siren}
    obligated = [o for o in registry if o.obligated and o.status == "active"]
    publishing = [
        o for o in obligated if o.siren in sirens or (o.type, o.region if o.type == "REG" else o.departement) in ids
    ]
    assert 0.06 < len(publishing) / len(obligated) < 0.25  # 6.5 % in 2018, about 16 % in 2022


def test_larger_publishers_have_more_datasets_and_each_has_one(demo):
    national = demo.portals[-1]
    counts = Counter(dataset(national, i).publisher for i in range(national.size))
    assert set(counts) == set(national.publishers)  # every publisher shows up
    by_name = {p: p.name for p in national.publishers}
    regions = [n for p, n in counts.items() if by_name[p].startswith(("Région ", "Conseil régional "))]
    communes = [n for p, n in counts.items() if by_name[p].startswith(("Ville de ", "Commune de ", "Mairie de "))]
    assert _median(regions) >= 5 * _median(communes) and _median(communes) <= 3


def _median(values: list[int]) -> int:
    return sorted(values)[len(values) // 2]


def test_dates_run_up_to_the_anchor_and_about_half_the_datasets_are_fresh(demo):
    datasets = [dataset(portal, i) for portal in demo.portals for i in range(portal.size)]
    anchor = demo.portals[0].anchor
    assert all(d.created <= d.modified <= anchor for d in datasets)
    fresh = sum(1 for d in datasets if d.modified > anchor - timedelta(days=365)) / len(datasets)
    assert 0.35 < fresh < 0.6
    assert min(d.created for d in datasets) > anchor - timedelta(days=6 * 366)


def test_publishers_list_their_datasets_on_the_channels_in_france_s_proportions(pool, demo):
    hosting = france_publishers(pool, portals=8, seed=2026)
    national = set(hosting.national)
    on_local = {entry for portal in hosting.local for entry in portal}
    on_harvested = {entry for n, portal in enumerate(hosting.local) if hosting.mirrored[n] for entry in portal}
    assert national | on_local == set(pool)
    assert on_harvested <= national  # data.gouv.fr harvests their portal: they are on both channels
    local_only, both = len(on_local - national) / len(pool), len(on_local & national) / len(pool)
    assert abs(local_only - 351 / 891) < 0.01 and abs(both - 146 / 891) < 0.01  # the Observatoire's 2022 file
    assert [bool(p.mirrored_share) for p in demo.portals[:-1]] == hosting.mirrored


def test_a_minority_of_datasets_declare_a_schema(demo):
    datasets = [dataset(portal, i) for portal in demo.portals for i in range(portal.size)]
    with_schema = sum(1 for d in datasets if any(schema for _, _, schema in d.resources)) / len(datasets)
    assert 0.05 < with_schema < 0.35


def test_the_same_seed_gives_the_same_world(demo):
    again = build_world(
        portals=8, datasets_per_portal=250, referentiel=REFERENTIEL, publishers="france", national_datasets=4000
    )
    assert [dataset(p, i) for p in again.portals for i in (0, 7, 249)] == [
        dataset(p, i) for p in demo.portals for i in (0, 7, 249)
    ]
