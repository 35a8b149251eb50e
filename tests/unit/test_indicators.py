"""Indicators without I/O: hand-computed values on a small registry, and a property: recomputing only
the scopes a change touches gives the same values as recomputing everything."""

import json
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.indicators import repository
from services.indicators.facts import (
    EMPTY,
    NATIONAL,
    DatasetFacts,
    OrganizationFacts,
    PlatformFacts,
    Publication,
    publication_of,
    tallied,
)
from services.indicators.measures import Baseline, Communes, all_scopes, compute_scopes, covered_by, touched_scopes
from services.indicators.tally import Registry
from shared.population import population_bin

NOW = datetime(2026, 10, 8, tzinfo=UTC)
RECENT, OLD = NOW - timedelta(days=30), NOW - timedelta(days=800)

# A small registry whose every value below is computed by hand.
REGION = OrganizationFacts("R", "Région", "REG", None, "53", population=3_400_000, obligated=True)
DEPT = OrganizationFacts("D", "Département", "DEP", "35", "53", population=1_100_000, obligated=True)
EPCI = OrganizationFacts("E", "Métropole", "MET", "35", "53", population=450_000, obligated=True)
RENNES = OrganizationFacts("C1", "Rennes", "COM", "35", "53", epci="E", population=220_000, obligated=True)
BRUZ = OrganizationFacts("C2", "Bruz", "COM", "35", "53", epci="E", population=18_000, obligated=True)
VITRE = OrganizationFacts("C3", "Vitré", "COM", "35", "53", epci=None, population=3_000, obligated=False)
QUIMPER = OrganizationFacts("C4", "Quimper", "COM", "29", "53", population=63_000, obligated=True)
OFFICE = OrganizationFacts("O", "Office de tourisme", "OACT", "35", "53")
ORGANIZATIONS = [REGION, DEPT, EPCI, RENNES, BRUZ, VITRE, QUIMPER, OFFICE]

# Single councils: one council, several rows (one per COG entry it serves) sharing a council_id. The
# Collectivité de Corse serves its région and both départements; Guyane its région and département.
CORSE = OrganizationFacts("REG-94", "Corse", "REG", None, "94", population=350_000, obligated=True, council_id="REG-94")
CORSE_DU_SUD = OrganizationFacts("DEP-2A", "Corse-du-Sud", "DEP", "2A", "94", population=160_000, obligated=True,
                                 council_id="REG-94")  # fmt: skip
HAUTE_CORSE = OrganizationFacts("DEP-2B", "Haute-Corse", "DEP", "2B", "94", population=190_000, obligated=True,
                                council_id="REG-94")  # fmt: skip
AJACCIO = OrganizationFacts("C5", "Ajaccio", "COM", "2A", "94", population=70_000, obligated=True)
BASTIA = OrganizationFacts("C6", "Bastia", "COM", "2B", "94", population=45_000, obligated=True)
GUYANE = OrganizationFacts(
    "REG-03", "Guyane", "REG", None, "03", population=290_000, obligated=True, council_id="REG-03"
)
DEP_GUYANE = OrganizationFacts("DEP-973", "Guyane", "DEP", "973", "03", population=290_000, obligated=True,
                               council_id="REG-03")  # fmt: skip
CAYENNE = OrganizationFacts("C7", "Cayenne", "COM", "973", "03", population=63_000, obligated=True)
KOUROU = OrganizationFacts("C8", "Kourou", "COM", "973", "03", population=25_000, obligated=True)
COUNCILS = [CORSE, CORSE_DU_SUD, HAUTE_CORSE, AJACCIO, BASTIA, GUYANE, DEP_GUYANE, CAYENNE, KOUROU]

DATASETS = [
    # The métropole: on its portal and on data.gouv.fr, open, fresh, with an SCDL schema.
    DatasetFacts("d1", "E", False, "licence-ouverte", ("csv",), RECENT, ("Transport",), ("scdl/budget",),
                 ("https://data.metropole.fr", "https://www.data.gouv.fr"), ("ods", "udata"), True, True,
                 reuses=("dg:carte", "dg:appli"), audience=(("ods:downloads", 7), ("udata:views", 100))),
    DatasetFacts("d2", "E", False, "autre", ("pdf",), OLD, ("Transport",), (), ("https://data.metropole.fr",),
                 ("ods",), local=True, communes=("C1", "C2")),  # its title names Rennes and Bruz
    # Quimper on data.gouv.fr only.
    DatasetFacts("d3", "C4", False, "odbl", ("xlsx",), RECENT, ("Culture",), ("etalab/schema-irve",),
                 ("https://www.data.gouv.fr",), ("udata",), national=True, reuses=("dg:carte",),
                 audience=(("udata:views", 20),)),
    # A withdrawn dataset counts nowhere.
    DatasetFacts("d4", "C1", True, "odbl", ("csv",), RECENT, (), (), ("https://www.data.gouv.fr",), ("udata",),
                 national=True),
    # The office, associated actor.
    DatasetFacts("d5", "O", False, None, ("json",), None, (), (), ("https://www.data.gouv.fr",), ("udata",),
                 national=True),
    # A dataset whose publisher is not known.
    DatasetFacts("d6", None, False, "cc-by", ("csv",), RECENT, (), (), ("https://www.data.gouv.fr",), ("udata",),
                 national=True),
]  # fmt: skip


METROPOLE_PORTAL, NATIONAL_PORTAL = "https://data.metropole.fr", "https://www.data.gouv.fr"
PLATFORMS = {
    METROPOLE_PORTAL: PlatformFacts(METROPOLE_PORTAL, "ods"),
    NATIONAL_PORTAL: PlatformFacts(NATIONAL_PORTAL, "udata", national=True),
    "https://a.fr": PlatformFacts("https://a.fr", "ods"),
    "https://b.fr": PlatformFacts("https://b.fr", "ckan"),
}


def state(
    organizations: list[OrganizationFacts], datasets: list[DatasetFacts]
) -> tuple[dict[str, tuple[OrganizationFacts, Publication]], Publication]:
    by_org = {o.id: (o, publication_of([d for d in datasets if d.organization_id == o.id], NOW)) for o in organizations}
    return by_org, publication_of([d for d in datasets if d.organization_id is None], NOW)


def test_every_indicator_on_a_hand_computed_registry():
    organizations, unattributed = state(ORGANIZATIONS, DATASETS)
    values = compute_scopes(organizations, unattributed, all_scopes(ORGANIZATIONS))
    national = values[NATIONAL]
    assert national["organizations"] == 8
    assert national["organizations_publishing"] == 3  # E, C4, O (C1's only dataset is withdrawn)
    assert (national["collectivites_publishing"], national["associated_publishing"]) == (2, 1)
    assert national["datasets"] == 5  # d1, d2, d3, d5 and the unattributed d6
    assert (national["obligated"], national["obligated_publishing"]) == (6, 2)  # R D E C1 C2 C4; E and C4
    assert national["opening_rate"] == round(2 / 6, 6)
    # Communes: Rennes and Bruz covered by their métropole, Quimper by itself, Vitré by nobody.
    assert national["population"] == 220_000 + 18_000 + 3_000 + 63_000
    assert national["population_covered"] == 220_000 + 18_000 + 63_000
    assert national["coverage_rate"] == round(301_000 / 304_000, 6)
    assert (national["channel_local_only"], national["channel_national_only"], national["channel_both"]) == (0, 2, 1)
    assert national["platforms"] == 2
    assert national["open_format_share"] == round(3 / 5, 6)  # d1 csv, d5 json, d6 csv
    assert national["open_licence_share"] == round(3 / 5, 6)  # d1, d3, d6
    assert national["fresh_share"] == round(3 / 5, 6)  # d1, d3, d6
    assert national["schema_share"] == round(2 / 5, 6)
    assert national["scdl_publishers"] == 1
    assert (national["technology:ods"], national["technology:udata"]) == (1, 3)
    assert (national["theme:Transport"], national["theme:Culture"]) == (2, 1)
    assert national["population_bin:p_250_500"] == 1 and national["population_bin:p_50_100"] == 1
    assert national["population_bin:p_na"] == 1  # the office has no population
    assert national["type:MET"] == 1 and national["type:COM"] == 1 and national["type:OACT"] == 1

    ille = values[("departement", "35")]
    assert (ille["organizations"], ille["organizations_publishing"], ille["datasets"]) == (6, 2, 3)
    assert ille["population_covered"] == 238_000 and ille["coverage_rate"] == round(238_000 / 241_000, 6)
    assert values[("departement", "29")]["opening_rate"] == 1.0
    assert values[("type", "COM")]["organizations_publishing"] == 1

    assert national["technology_datasets:ods"] == 2 and national["technology_datasets:udata"] == 4  # ODF 11
    # Reuses (ODF 17): the map uses d1 and d3, the app d1; counted once each, over the datasets reused.
    assert (national["reuses"], national["reused_share"]) == (2, round(2 / 5, 6))
    assert values[("departement", "29")]["reuses"] == 1  # Quimper's d3, by the map
    # Audience, summed per software and never across: udata's views apart from OpenDataSoft's downloads.
    assert (national["audience:udata:views"], national["audience:ods:downloads"]) == (120, 7)
    assert "audience:ods:downloads" not in values[("departement", "29")]
    # Cooperation: the métropole publishes for two of its communes (its d2 names them).
    assert (national["epci_serving_communes"], national["communes_served_by_epci"]) == (1, 2)
    assert values[("departement", "29")]["epci_serving_communes"] == 0
    assert values[("departement", "35")]["technology_datasets:udata"] == 2  # the métropole's d1, the office's d5

    metropole = values[("organization", "E")]
    assert (metropole["datasets"], metropole["publishes"], metropole["platforms"]) == (2, 1, 2)
    assert (metropole["on_local_portal"], metropole["on_national_portal"]) == (1, 1)
    assert metropole["open_format_share"] == 0.5 and metropole["scdl_schemas"] == 1
    assert (metropole["reuses"], metropole["reused_share"]) == (2, 0.5)
    assert (metropole["audience:udata:views"], metropole["audience:ods:downloads"]) == (100, 7)
    assert metropole["member_communes_served"] == 2
    assert values[("organization", "C1")]["publishes"] == 0
    assert values[("organization", "C1")]["open_format_share"] is None  # no dataset: no share


def test_platforms_their_hosted_councils_typology_and_the_nation_s_platform_indicators():
    values = compute_scopes(*state(ORGANIZATIONS, DATASETS), [NATIONAL], platforms=PLATFORMS)
    # The métropole's portal lists its two datasets: dedicated to it. The national portal lists the
    # datasets of the métropole, Quimper, the office and one of no known publisher: a concentrator.
    assert values[("platform", METROPOLE_PORTAL)] == {
        "datasets": 2, "organizations_hosted": 1, "typology:dedie": 1, "technology:ods": 1
    }  # fmt: skip
    assert values[("platform", NATIONAL_PORTAL)] == {
        "datasets": 4, "organizations_hosted": 3, "typology:concentrateur": 1, "technology:udata": 1
    }  # fmt: skip
    # Known platforms that list nothing (a.fr, b.fr) have values too: zeros, no typology to tell.
    assert values[("platform", "https://a.fr")]["datasets"] == 0
    assert values[("platform", "https://a.fr")]["typology:indeterminee"] == 1
    national = values[NATIONAL]
    assert (national["platform_typology:dedie"], national["platform_typology:concentrateur"]) == (1, 1)
    assert (national["platform_technology:ods"], national["platform_technology:udata"]) == (1, 1)
    assert national["organizations_on_shared_platforms"] == 0  # the national portal shares nothing

    # Rennes and Bruz join the métropole's portal: shared by three; Quimper and the office too: mutualised.
    shared = DATASETS + [DatasetFacts(f"s{o}", o, False, portals=(METROPOLE_PORTAL,)) for o in ("C1", "C2")]
    values = compute_scopes(*state(ORGANIZATIONS, shared), [NATIONAL], platforms=PLATFORMS)
    assert values[("platform", METROPOLE_PORTAL)]["typology:partage"] == 1
    assert values[NATIONAL]["organizations_on_shared_platforms"] == 3  # E, C1, C2
    mutualised = shared + [DatasetFacts(f"m{o}", o, False, portals=(METROPOLE_PORTAL,)) for o in ("C4", "O")]
    values = compute_scopes(*state(ORGANIZATIONS, mutualised), [NATIONAL], platforms=PLATFORMS)
    assert values[("platform", METROPOLE_PORTAL)]["organizations_hosted"] == 5
    assert values[("platform", METROPOLE_PORTAL)]["typology:mutualise"] == 1
    assert values[NATIONAL]["organizations_on_shared_platforms"] == 5
    # Per territory (ODF 13, cooperation): the métropole, Rennes, Bruz and the office in 35, Quimper in 29.
    assert values[("departement", "35")]["organizations_on_shared_platforms"] == 4
    assert values[("departement", "29")]["organizations_on_shared_platforms"] == 1


def test_a_council_publishing_on_a_platform_through_two_rows_is_hosted_once():
    datasets = [DatasetFacts(f"c{row}", row, False, portals=("https://a.fr",)) for row in ("REG-94", "DEP-2B")]
    values = compute_scopes(*state(COUNCILS, datasets), [NATIONAL], platforms=PLATFORMS)
    assert values[("platform", "https://a.fr")]["organizations_hosted"] == 1
    assert values[("platform", "https://a.fr")]["datasets"] == 2


def test_a_region_publishing_covers_every_commune_of_the_region():
    datasets = [DatasetFacts("r", "R", False)]
    organizations, unattributed = state(ORGANIZATIONS, datasets)
    national = compute_scopes(organizations, unattributed, [NATIONAL])[NATIONAL]
    assert national["population_covered"] == national["population"]


def test_population_bins_follow_the_observatoire():
    assert [population_bin(p) for p in (None, 999, 1_000, 99_999, 100_000, 2_000_000)] == [
        "p_na",
        "na",
        "p_1_5",
        "p_50_100",
        "p_100_250",
        "p_1000_5000.001",
    ]


def test_a_single_council_publishing_publishes_and_covers_in_every_territory_it_serves():
    # The Collectivité de Corse's datasets sit on its région row: both départements count it.
    organizations, unattributed = state(COUNCILS, [DatasetFacts("c", "REG-94", False, "odbl", ("csv",), RECENT)])
    values = compute_scopes(organizations, unattributed, all_scopes(COUNCILS))
    for departement in ("2A", "2B"):
        scope = values[("departement", departement)]
        assert (scope["obligated"], scope["obligated_publishing"], scope["opening_rate"]) == (2, 1, 0.5)
        assert scope["coverage_rate"] == 1.0  # its communes are covered by their département's council
        assert (scope["organizations_publishing"], scope["datasets"], scope["type:DEP"]) == (1, 1, 1)
    corse = values[("region", "94")]
    assert (corse["obligated"], corse["obligated_publishing"]) == (3, 1)  # one council, two communes
    assert (corse["organizations"], corse["organizations_publishing"], corse["type:REG"]) == (5, 1, 1)
    national = values[NATIONAL]
    assert (national["obligated_publishing"], national["datasets"], national["organizations_publishing"]) == (1, 1, 1)
    assert values[("organization", "DEP-2A")]["publishes"] == 0  # the row's own card: its own datasets


def test_a_council_s_region_and_departement_agree_where_their_definitions_agree():
    # Guyane's council publishes through its département row: the région says the same.
    organizations, unattributed = state(COUNCILS, [DatasetFacts("g", "DEP-973", False, "odbl", ("csv",), RECENT)])
    values = compute_scopes(organizations, unattributed, all_scopes(COUNCILS))
    region, departement = values[("region", "03")], values[("departement", "973")]
    differ = {"organizations", "type:REG", "type:DEP"}  # the région holds one more row; each counts it as its row
    assert {k: v for k, v in region.items() if k not in differ} == {
        k: v for k, v in departement.items() if k not in differ
    }
    assert region["opening_rate"] == departement["opening_rate"] == round(1 / 3, 6)
    assert (region["organizations"], departement["organizations"]) == (4, 3)


def test_a_council_publishing_through_two_rows_counts_once():
    datasets = [DatasetFacts("a", "DEP-2A", False), DatasetFacts("b", "DEP-2B", False)]
    organizations, unattributed = state(COUNCILS, datasets)
    values = compute_scopes(organizations, unattributed, [NATIONAL, ("region", "94"), ("departement", "2A")])
    assert values[("region", "94")]["organizations_publishing"] == 1 and values[("region", "94")]["datasets"] == 2
    assert values[("departement", "2A")]["datasets"] == 2  # the council's, wherever they sit
    assert values[NATIONAL]["obligated_publishing"] == 1


def test_entries_and_exits_count_councils_against_the_last_edition():
    # At the 2025 edition, the Collectivité de Corse and Ajaccio published; now Corse and Guyane do.
    baseline = Baseline(2025, frozenset({"REG-94", "C5"}))
    datasets = [DatasetFacts("c", "DEP-2B", False), DatasetFacts("g", "DEP-973", False)]
    organizations, unattributed = state(COUNCILS, datasets)
    values = compute_scopes(organizations, unattributed, all_scopes(COUNCILS), baseline)
    national = values[NATIONAL]
    assert (national["since_edition"], national["entered_since_edition"], national["left_since_edition"]) == (
        2025,
        1,
        1,
    )
    corse_du_sud = values[("departement", "2A")]  # Corse still publishes (through another row); Ajaccio left
    assert (corse_du_sud["entered_since_edition"], corse_du_sud["left_since_edition"]) == (0, 1)
    assert values[("region", "03")]["entered_since_edition"] == 1  # Guyane's council, once
    before_any_edition = compute_scopes(organizations, unattributed, [NATIONAL])[NATIONAL]
    assert before_any_edition["since_edition"] is None and before_any_edition["entered_since_edition"] is None


# --- incremental equals full ---------------------------------------------------------------------

EVERYONE = ORGANIZATIONS + COUNCILS
org_ids = st.sampled_from([o.id for o in EVERYONE])
dataset_changes = st.builds(
    DatasetFacts,
    id=st.sampled_from([f"x{n}" for n in range(6)]),
    organization_id=st.one_of(st.none(), org_ids),
    withdrawn=st.booleans(),
    licence=st.sampled_from([None, "odbl", "autre"]),
    formats=st.sampled_from([(), ("csv",), ("pdf",)]),
    modified=st.sampled_from([None, RECENT, OLD]),
    themes=st.sampled_from([(), ("Transport",), ("Transport", "Culture")]),
    schemas=st.sampled_from([(), ("scdl/budget",), ("etalab/irve",)]),
    technologies=st.sampled_from([(), ("ods",), ("ods", "udata")]),
    portals=st.sampled_from([("https://a.fr",), ("https://b.fr", "https://www.data.gouv.fr"), ("https://c.fr",)]),
    national=st.booleans(),
    local=st.booleans(),
    reuses=st.sampled_from([(), ("s:r1",), ("s:r1", "s:r2")]),
    audience=st.sampled_from([(), (("udata:views", 3),), (("ods:downloads", 2), ("udata:views", 5))]),
    communes=st.sampled_from([(), ("C1",), ("C1", "C2")]),
)
organization_changes = st.builds(
    lambda base, departement, epci, obligated, council, active: OrganizationFacts(
        base.id, base.name, base.type, departement, base.region, epci, base.population, obligated,
        base.council_id if council == "same" else council, active,
    ),
    st.sampled_from(EVERYONE),
    st.sampled_from(["35", "29", "56", "2A", "973"]),
    st.sampled_from([None, "E"]),
    st.sampled_from([None, True, False]),
    st.sampled_from(["same", None, "REG-94", "REG-03"]),  # councils joined and left
    st.booleans(),
)  # fmt: skip


NEW_EDITION = "new edition"  # a change of the sequence: an edition is taken, entries and exits count from it
councils_at_start = st.one_of(st.none(), st.frozensets(st.sampled_from([o.council for o in EVERYONE])))


# Three communes of two départements on one local platform, then two of them moving to another: the
# first platform is no longer shared, which moves the cooperation of Rennes, whose datasets did not
# change (random sequences rarely get there).
SHARING = [DatasetFacts(f"x{n}", org, False, portals=("https://a.fr",)) for n, org in enumerate(("C1", "C2", "C4"))]
SHARING += [DatasetFacts(f"x{n}", org, False, portals=("https://c.fr",)) for n, org in ((1, "C2"), (2, "C4"))]
# The same seen from the Finistère: Rennes and Bruz leave, Quimper no longer cooperates, and the
# Finistère is the territory of no council that changed (only the Registry can tell it moved).
SHARING_ELSEWHERE = SHARING[:3] + [
    DatasetFacts(f"x{n}", org, False, portals=("https://c.fr",)) for n, org in ((0, "C1"), (1, "C2"))
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(dataset_changes, organization_changes, st.just(NEW_EDITION)), max_size=25), councils_at_start)
@example(SHARING, None)
@example(SHARING_ELSEWHERE, None)
def test_recomputing_touched_scopes_equals_recomputing_everything(changes, published_at_edition):
    """The service's way (one Registry kept up to date, each publication tallied by the change alone,
    only the touched scopes recomputed) against a registry built afresh and every scope computed."""
    organizations = {o.id: o for o in EVERYONE}
    datasets: dict[str, DatasetFacts] = {}
    baseline = None if published_at_edition is None else Baseline(2025, published_at_edition)
    registry = Registry(dict(organizations), {}, baseline, dict(PLATFORMS))
    stored = registry.compute(registry.every_scope())

    for change in changes:
        touched: set = {NATIONAL}
        if change == NEW_EDITION:  # as `recompute` does: every scope again
            baseline = Baseline(2026, registry.publishing_councils())
            registry.set_baseline(baseline)
            touched |= registry.every_scope()
        elif isinstance(change, DatasetFacts):
            previous = datasets.get(change.id)
            datasets[change.id] = change
            for owner in {d.organization_id for d in (previous, change) if d is not None}:
                removed = [previous] if previous and previous.organization_id == owner else []
                added = [change] if change.organization_id == owner else []
                registry.set_publication(
                    owner or "", tallied(registry.publications.get(owner or "", EMPTY), removed, added, NOW)
                )
                if owner:
                    touched |= registry.touched_by(organizations[owner], coverage_moved=True)
        else:
            before = organizations[change.id]
            organizations[change.id] = change
            registry.set_organization(change)
            communes = Communes(organizations.values())
            touched |= touched_scopes(before, change, covered_by(before, communes))
            touched |= registry.touched_by(change, coverage_moved=True) | registry.touched_by(before, True)
        stored.update(registry.compute(touched | registry.take_moved()))

    full = compute_scopes(
        *state(list(organizations.values()), list(datasets.values())),
        all_scopes(organizations.values()),
        baseline,
        PLATFORMS,
    )
    assert any(kind == "platform" for kind, _ in full)
    assert {scope: stored.get(scope) for scope in full} == full


def test_a_publication_summary_reads_back_as_stored():
    publication = publication_of(DATASETS, NOW)
    assert publication.themes == {"Transport": 2, "Culture": 1}
    summary = json.loads(json.dumps(repository._summary(publication)))
    tallies = [change[1:] for change in repository.tally_changes("E", EMPTY, publication)]
    assert repository._publication(summary, tallies) == publication
    assert {name for name, _, _ in tallies} == {"modified_days", "scdl_schemas", "portals", "technologies", "themes",
                                               "reuses", "audience", "communes"}  # fmt: skip


def test_a_dataset_s_facts_read_back_as_stored():
    for facts in DATASETS:
        row = dict(zip(repository.DATASET_COLUMNS.split(", "), repository._dataset_row(facts), strict=True))
        assert repository._dataset_facts(row) == facts


def test_taking_every_dataset_out_leaves_nothing():
    assert tallied(publication_of(DATASETS, NOW), DATASETS, (), NOW) == EMPTY
