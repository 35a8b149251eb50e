"""The consolidator's decisions without PostgreSQL: which canonical dataset each record of a batch
joins (identity.plan_identities, given the keys stored so far) and which organisation published it
(attribution.attribute, against an in-memory matcher). The integration tests keep the wiring: the
lock, the writes, the events (tests/integration/test_consolidation.py)."""

from services.consolidator.attribution import attribute
from services.consolidator.contributions import contributed_record
from services.consolidator.identity import canonical_id, plan_identities, record_keys, survivor
from shared.events import DatasetDiscovered, Organization, Publisher, Resource, UpstreamOrigin
from shared.matching import Matcher

LOCAL = "https://opendata.example-local.fr"
NATIONAL = "https://www.data.gouv.fr"


def record(
    remote_id: str,
    portal_url: str = LOCAL,
    source_id: str = "local",
    files: tuple[str, ...] = (),
    remote_url: str | None = None,
    upstream: UpstreamOrigin | None = None,
    publisher: Publisher | None = None,
) -> DatasetDiscovered:
    return DatasetDiscovered(
        producer="test", run_id="run", source_id=source_id, portal_kind="ckan", portal_url=portal_url,
        remote_id=remote_id, remote_url=remote_url, publisher=publisher or Publisher(name="Ville de Testville"),
        title="Budget", resources=[Resource(url=u, format="csv") for u in files], upstream=upstream,
        content_hash="h",
    )  # fmt: skip


def keyed(*events: DatasetDiscovered, before: dict[str, str] | None = None):
    return [((e.source_id, e.remote_id), record_keys(e), (before or {}).get(e.remote_id)) for e in events]


def test_a_new_record_creates_the_dataset_named_after_its_origin_and_stores_its_keys():
    new = record("budget-2026", files=("https://opendata.example-local.fr/budget.csv",))
    plan = plan_identities(keyed(new), stored={})
    dataset_id = canonical_id(record_keys(new)[0])
    assert plan.dataset_of == {("local", "budget-2026"): dataset_id}
    assert plan.minted == {dataset_id} and plan.merges == {}
    assert sorted(k for k, _ in plan.new_keys) == sorted(record_keys(new))
    assert {d for _, d in plan.new_keys} == {dataset_id}


def test_a_copy_harvested_from_the_local_portal_joins_the_stored_dataset_and_adds_only_its_own_keys():
    local = record("budget-2026")
    stored = {key: canonical_id(record_keys(local)[0]) for key in record_keys(local)}
    copy = record(
        "5f1a", portal_url=NATIONAL, source_id="national",
        upstream=UpstreamOrigin(backend="CKAN", domain="opendata.example-local.fr", remote_id="budget-2026"),
    )  # fmt: skip
    plan = plan_identities(keyed(copy), stored)
    assert plan.dataset_of == {("national", "5f1a"): canonical_id(record_keys(local)[0])}
    assert plan.minted == set() and plan.merges == {}
    assert [k for k, _ in plan.new_keys] == sorted(set(record_keys(copy)) - set(stored))


def test_two_portals_that_both_call_a_dataset_1_have_two_datasets():
    a, b = record("1", portal_url="https://a.example.fr", source_id="a"), record("1", portal_url="https://b.example.fr")
    plan = plan_identities(keyed(a, b), stored={})
    assert plan.dataset_of[("a", "1")] != plan.dataset_of[("local", "1")]
    assert len(plan.minted) == 2 and plan.merges == {}


def test_a_dataset_under_a_new_remote_id_with_the_same_files_stays_one_dataset():
    files = ("https://opendata.example-local.fr/files/parcs.csv",)
    old = record("parcs-old", files=files)
    stored = {key: canonical_id(record_keys(old)[0]) for key in record_keys(old)}
    plan = plan_identities(keyed(record("parcs-2024", files=files)), stored)
    assert plan.dataset_of == {("local", "parcs-2024"): canonical_id(record_keys(old)[0])}
    assert plan.minted == set()


def test_a_record_whose_identifiers_lead_to_two_datasets_joins_them_into_the_one_named_after_its_origin():
    copy = record(
        "5f1a", portal_url=NATIONAL, source_id="national",
        upstream=UpstreamOrigin(backend="CKAN", domain="opendata.example-local.fr", remote_id="budget-2026"),
    )  # fmt: skip
    origin_dataset = canonical_id(record_keys(copy)[0])
    # The record was in its origin's dataset; its own identifier on data.gouv.fr names another one.
    stored = {record_keys(copy)[1]: "copy-dataset"}
    plan = plan_identities(keyed(copy, before={"5f1a": origin_dataset}), stored)
    assert plan.merges == {"copy-dataset": origin_dataset}
    assert plan.dataset_of == {("national", "5f1a"): origin_dataset}
    assert plan.minted == set()


def test_a_landing_page_attaches_a_record_but_never_joins_two_datasets():
    page = "https://opendata.example-local.fr/datasets/parcs"
    stored = {f"url:{page.removeprefix('https://')}": "parcs", "id:elsewhere|x": "other"}
    attached = plan_identities(keyed(record("parcs-2", remote_url=page)), stored)
    assert attached.dataset_of == {("local", "parcs-2"): "parcs"} and attached.merges == {}

    placed_elsewhere = record("parcs-3", remote_url=page)
    stored[record_keys(placed_elsewhere)[0]] = "other"  # its identifier already names another dataset
    plan = plan_identities(keyed(placed_elsewhere), stored)
    assert plan.dataset_of == {("local", "parcs-3"): "other"} and plan.merges == {}


def test_two_records_of_one_batch_with_the_same_files_make_one_dataset():
    files = ("https://opendata.example-local.fr/arbres.csv",)
    old, new = record("arbres-old", files=files), record("arbres-2026", files=files)
    plan = plan_identities(keyed(old, new), stored={})
    assert plan.dataset_of[("local", "arbres-old")] == plan.dataset_of[("local", "arbres-2026")]
    assert plan.minted == {plan.dataset_of[("local", "arbres-old")]}


def test_merges_follow_chains_to_the_last_survivor():
    assert survivor("a", {"a": "b", "b": "c"}) == "c" and survivor("d", {"a": "b"}) == "d"


def organisations() -> list[Organization]:
    return [
        Organization(id="21350238800019", siren="213502388", name="Testville", type="COM", insee_code="35238",
                     departement="35", region="53"),
        Organization(id="DEP-35", name="Ille-et-Vilaine", type="DEP", departement="35", region="53",
                     insee_code="35"),
        Organization(id="200039022", siren="200039022", name="CC du Val de Test", type="CC", departement="35",
                     region="53"),
    ]  # fmt: skip


def test_a_publisher_found_by_name_is_attributed_and_its_alias_learned_once():
    matcher = Matcher(organisations(), usual_names={})
    first = attribute(record("1", publisher=Publisher(name="Ville de Testville", departement="35")), matcher, 3)
    assert first.match.organization_id == "21350238800019" and first.match.attribution
    assert first.alias == (f"{LOCAL}#name:ville de testville", "21350238800019")
    assert first.created is None and first.learns_siren is None and first.unmatched is None

    matcher.aliases[first.alias[0]] = first.alias[1]  # what the handler does before the next publisher
    again = attribute(record("2", publisher=Publisher(name="Ville de Testville", departement="35")), matcher, 1)
    assert again.match.organization_id == "21350238800019" and again.alias is None


def test_a_departement_known_by_its_cog_id_learns_the_siren_its_portal_gives():
    matcher = Matcher(organisations(), usual_names={})
    publisher = Publisher(name="Département d'Ille-et-Vilaine", siren="223500018")
    decided = attribute(record("1", publisher=publisher), matcher, 1)
    assert decided.learns_siren == ("DEP-35", "223500018")
    assert decided.match.organization_id == "223500018" and decided.created is None


def test_a_siren_that_contradicts_the_name_makes_a_new_body_and_no_siren_no_name_is_unmatched():
    matcher = Matcher(organisations(), usual_names={})
    other_body = Publisher(name="CC du Val de Test", siren="987654324")  # a valid SIREN, not the CC's
    decided = attribute(record("1", publisher=other_body), matcher, 1)
    assert decided.created is not None and decided.created.id == decided.match.organization_id == "987654324"
    assert decided.match.attribution == {"rule": "siren-new", "confidence": 1.0} and decided.learns_siren is None

    # A SIREN that fails its check digit is no evidence: the name decides.
    misspelt = attribute(record("3", publisher=Publisher(name="CC du Val de Test", siren="987654321")), matcher, 1)
    assert misspelt.created is None and misspelt.match.organization_id == "200039022"

    unknown = attribute(record("2", publisher=Publisher(name="Association des amis du test")), matcher, 4)
    assert unknown.match.organization_id is None and unknown.alias is None
    assert unknown.unmatched is not None and unknown.unmatched.sightings == 4


def test_a_contributed_dataset_is_placed_by_the_same_rules_and_joins_the_dataset_at_its_landing_page():
    testville = organisations()[0]
    value = {"title": "Arbres remarquables", "url": "https://www.example-local.fr/donnees/arbres"}
    record = contributed_record("c-1", value, testville)
    assert (record.source_id, record.remote_id, record.portal_url) == (
        "contributions",
        "c-1",
        "https://www.example-local.fr",
    )
    assert record.publisher.name == "Testville" and record.publisher.siren == "213502388"
    known = plan_identities(keyed(record), stored={"url:example-local.fr/donnees/arbres": "arbres"})
    assert known.dataset_of == {("contributions", "c-1"): "arbres"} and known.minted == set()
    unknown = plan_identities(keyed(record), stored={})
    assert unknown.minted == {unknown.dataset_of[("contributions", "c-1")]}
