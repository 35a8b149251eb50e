"""Canonical datasets without I/O: identity keys, the primary record, contributed overrides, withdrawals."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.consolidator.datasets import PortalRecord, canonical_dataset, state_hash
from services.consolidator.handlers import may_withdraw, sighting_held
from services.consolidator.identity import canonical_id, identity_key, origin_key, record_keys
from services.consolidator.overrides import Override, apply_to_dataset, apply_to_organization
from services.consolidator.repository import HarvestRun, KnownRecord
from shared.events import DatasetDiscovered, Obligation, Organization, Publisher, Resource, UpstreamOrigin

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def event(
    remote_id: str,
    portal_url: str = "https://opendata.rennes.fr",
    upstream: UpstreamOrigin | None = None,
    remote_url: str | None = None,
    resources: tuple[str, ...] = (),
    source_id: str = "s1",
) -> DatasetDiscovered:
    return DatasetDiscovered(
        producer="test",
        run_id="r",
        source_id=source_id,
        portal_kind="ckan",
        portal_url=portal_url,
        remote_id=remote_id,
        remote_url=remote_url,
        publisher=Publisher(name="Rennes"),
        title="Budget",
        resources=[Resource(url=u, format="csv") for u in resources],
        upstream=upstream,
        content_hash="h",
    )


def test_a_local_record_and_its_copy_on_datagouv_share_the_origin_key():
    local = event("0c5ad935-272e-4d9e-b0db-cdcb1a5309b8", portal_url="https://trouver.datasud.fr")
    copy = event(
        "5f1a",
        portal_url="https://www.data.gouv.fr",
        upstream=UpstreamOrigin(backend="CKAN", domain="trouver.datasud.fr", remote_id=local.remote_id),
    )
    assert origin_key(local) == origin_key(copy) == f"id:trouver.datasud.fr|{local.remote_id}"
    assert canonical_id(origin_key(local)) == canonical_id(origin_key(copy))


def test_identifiers_that_are_not_uris_are_scoped_by_domain():
    assert identity_key("data.a.fr", "1") != identity_key("data.b.fr", "1")
    assert identity_key("www.Data.A.fr", "1") == identity_key("data.a.fr", "1")


def test_an_ods_explore_url_and_a_federated_pair_are_the_same_key():
    url = "https://data.metropole.fr/explore/dataset/budget-2024/"
    assert identity_key("anything.fr", url) == identity_key("data.metropole.fr", "budget-2024")
    federated = event(
        "https://data.region.fr/explore/dataset/budget-2024/",
        portal_url="https://data.region.fr",
        upstream=UpstreamOrigin(backend="ODS", domain="data.metropole.fr", remote_id="budget-2024"),
    )
    assert origin_key(federated) == identity_key("x", url)


def test_uri_identifiers_match_across_sources_whatever_the_scheme_or_trailing_slash():
    a = event("https://geo.example.fr/dataset/42/", portal_url="https://a.fr")
    b = event("http://geo.example.fr/dataset/42", portal_url="https://b.fr")
    assert origin_key(a) == origin_key(b)


def test_keys_include_landing_pages_and_the_set_of_file_urls_but_not_service_endpoints():
    e = event(
        "1",
        remote_url="https://portal.fr/datasets/1",
        resources=("https://portal.fr/f/b.csv", "https://portal.fr/f/a.csv"),
    )
    keys = record_keys(e)
    assert "url:portal.fr/datasets/1" in keys and any(k.startswith("files:") for k in keys)
    reordered = event("2", resources=("https://portal.fr/f/a.csv", "https://portal.fr/f/b.csv"))
    assert [k for k in keys if k.startswith("files:")] == [k for k in record_keys(reordered) if k.startswith("files:")]
    service = event("3").model_copy(
        update={"resources": [Resource(url="https://geo.fr/wms?service=WMS", format="wms")]}
    )
    assert not any(k.startswith("files:") for k in record_keys(service))


def test_keys_too_long_to_index_are_hashed_and_still_match_each_other():
    query = "&".join(f"layer{n}=é{n}" for n in range(400))  # 3,600 characters, 4,000 bytes
    page = f"https://portal.fr/datasets/1?{query}"
    keys = record_keys(event("1", remote_url=page))
    assert all(len(k.encode()) <= 2000 for k in keys)
    [long_page] = [k for k in keys if k.startswith("url:")]
    assert long_page.startswith("url:sha256:")
    assert long_page in record_keys(event("2", portal_url="https://other.fr", remote_url=page.replace("https", "http")))
    assert "url:portal.fr/datasets/1?layer0=é0" in record_keys(
        event("3", remote_url="https://portal.fr/datasets/1?layer0=é0")
    )
    upstream = UpstreamOrigin(backend="CKAN", domain="portal.fr", remote_id=page)  # a URI remote id: an identity key
    assert record_keys(event("4", upstream=upstream))[0].startswith("uri:sha256:")


def test_an_identifier_too_long_to_index_is_refused_by_the_event():
    with pytest.raises(ValidationError, match="at most 500 characters"):
        event("x" * 501)


def record(source_id: str, *, origin: bool, modified: str | None, title: str, org: str | None = None,
           withdrawn: datetime | None = None, first_seen: datetime = T0) -> PortalRecord:  # fmt: skip
    return PortalRecord(
        source_id=source_id,
        remote_id=f"{source_id}-1",
        portal_kind="ckan",
        portal_url=f"https://{source_id}.fr",
        remote_url=None,
        origin=origin,
        organization_id=org,
        attribution={"rule": "siren", "confidence": 1.0} if org else None,
        metadata={"title": title, "modified": modified, "publisher": {"name": "Rennes"}, "resources": []},
        first_seen=first_seen,
        last_seen=first_seen,
        withdrawn_at=withdrawn,
    )


def test_the_origin_record_is_shown_before_copies_even_if_a_copy_is_newer():
    copy = record("datagouv", origin=False, modified="2026-05-01T00:00:00Z", title="Copie", org="213502388")
    local = record("local", origin=True, modified="2025-01-01T00:00:00Z", title="Original")
    dataset = canonical_dataset("d", [copy, local])
    assert dataset.title == "Original"
    assert dataset.organization_id == "213502388"  # the local record had no organisation: the copy's
    assert dataset.attribution and dataset.attribution.source_id == "datagouv" and dataset.attribution.rule == "siren"
    assert [s.source_id for s in dataset.sources] == ["datagouv", "local"] and not dataset.withdrawn


def test_two_copies_modified_at_once_give_the_same_dataset_whichever_was_seen_first():
    # Seen in the fault tests: a data.gouv.fr copy and an OpenDataSoft federated copy of one dataset,
    # same `modified`, different themes; a restart changed which was consolidated first.
    def copies(datagouv_seen: datetime, ods_seen: datetime) -> list[PortalRecord]:
        day = "2024-02-16T08:09:22Z"
        return [record("sim-datagouv", origin=False, modified=day, title="Copie", first_seen=datagouv_seen),
                record("sim-ods-0000", origin=False, modified=day, title="Fédéré", first_seen=ods_seen)]  # fmt: skip

    shown = {
        canonical_dataset("d", ordered).title
        for seen in ((T0, T0 + timedelta(seconds=1)), (T0 + timedelta(seconds=1), T0))
        for ordered in (copies(*seen), copies(*seen)[::-1])
    }
    assert shown == {"Copie"}


def test_a_dataset_is_withdrawn_only_when_every_record_is():
    local = record("local", origin=True, modified=None, title="Original", withdrawn=T0)
    copy = record("datagouv", origin=False, modified=None, title="Copie")
    assert canonical_dataset("d", [local, copy]).title == "Copie"
    assert not canonical_dataset("d", [local, copy]).withdrawn
    assert canonical_dataset(
        "d", [local, record("datagouv", origin=False, modified=None, title="C", withdrawn=T0)]
    ).withdrawn


def test_the_state_hash_ignores_when_portals_were_last_seen():
    a = canonical_dataset("d", [record("local", origin=True, modified=None, title="T")])
    later = a.model_copy(update={"sources": [a.sources[0].model_copy(update={"last_seen": T0 + timedelta(days=1)})]})
    assert state_hash(a.model_dump_json()) == state_hash(later.model_dump_json())
    assert state_hash(a.model_dump_json()) != state_hash(a.model_copy(update={"title": "U"}).model_dump_json())


def test_a_contribution_wins_until_the_harvested_value_changes_upstream():
    harvested = canonical_dataset("d", [record("local", origin=True, modified=None, title="Budjet")])
    fix = Override("title", "Budget", base_value="Budjet", contribution_id="7")
    applied, expired = apply_to_dataset(harvested, [fix])
    assert applied.title == "Budget" and applied.provenance == {"title": "contribution:7"} and not expired
    moved = harvested.model_copy(update={"title": "Budget primitif"})
    applied, expired = apply_to_dataset(moved, [fix])
    assert applied.title == "Budget primitif" and expired == [fix]


def test_contributed_agents_decide_the_obligation_and_name_provenance_is_kept():
    commune = Organization(
        id="213502388",
        name="Rennes",
        type="COM",
        population=12_000,
        obligation=Obligation(obligated=True, method="population_only", population=12_000, population_source="INSEE"),
        provenance={"name": "referentiel:6.0.0"},
    )
    applied, expired = apply_to_organization(commune, [Override("agents", 20, base_value=None, contribution_id="9")])
    assert applied.obligation is not None and applied.obligation.obligated is False
    assert applied.obligation.method == "population_and_agents" and applied.obligation.agents_source == "contribution:9"
    assert applied.provenance == {"name": "referentiel:6.0.0", "agents": "contribution:9"} and not expired


@pytest.mark.parametrize(
    ("changes", "allowed"),
    [
        ({}, True),
        ({"complete": False}, False),
        ({"mode": "incremental"}, False),
        ({"mode": None}, False),
        ({"errors": 2, "error_remote_ids": ["a"]}, False),  # an item failed without an id: cannot tell
        ({"errors": 1, "error_remote_ids": ["a"]}, True),
    ],
)
def test_only_complete_full_runs_that_account_for_every_failure_withdraw(changes, allowed):
    run = HarvestRun(
        run_id="r",
        source_id="s",
        consolidated=10,
        expected=10,
        complete=True,
        mode="full",
        errors=0,
        error_remote_ids=[],
        started_at=T0,
        finished_at=T0,
    )
    assert may_withdraw(HarvestRun(**{**run.__dict__, **changes})) is allowed


def test_a_sighting_is_held_when_it_is_a_copy_of_the_applied_one_or_older() -> None:
    seen = event("1").model_copy(update={"occurred_at": T0, "run_id": "r2", "content_hash": "h"})
    record = KnownRecord("d", "h", None, None, None, seen_at=T0, last_run_id="r2")
    assert sighting_held(record, seen)  # the same event, published twice
    assert sighting_held(record, seen.model_copy(update={"occurred_at": T0 - timedelta(hours=1)}))  # late
    assert not sighting_held(record, seen.model_copy(update={"occurred_at": T0 + timedelta(hours=1)}))
    assert not sighting_held(record, seen.model_copy(update={"run_id": "r3"}))  # same instant, another run
    assert not sighting_held(record, seen.model_copy(update={"content_hash": "h2"}))
    assert not sighting_held(None, seen)  # a record never stored
    assert not sighting_held(dataclasses.replace(record, seen_at=None), seen)  # stored before seen_at existed
