"""Indicators of the référentiel's single councils (the Collectivité de Corse, the Collectivité
européenne d'Alsace, Guyane, Martinique, Mayotte, Paris): whichever of its rows a council's datasets
sit on, it publishes and covers in every territory it serves, and the service's incremental registry
says the same as the definition."""

from collections import defaultdict
from datetime import UTC, datetime

import pytest

from services.consolidator.referentiel import organizations, read_package
from services.indicators.facts import EMPTY, DatasetFacts, OrganizationFacts, Scope, publication_of
from services.indicators.handlers import organization_facts
from services.indicators.measures import compute_scopes
from services.indicators.tally import Registry
from shared.settings import Settings

NOW = datetime(2026, 10, 8, tzinfo=UTC)


@pytest.fixture(scope="module")
def facts() -> dict[str, OrganizationFacts]:
    return {o.id: organization_facts(o) for o in organizations(read_package(Settings().referentiel_path))}


@pytest.fixture(scope="module")
def councils(facts) -> dict[str, list[OrganizationFacts]]:
    rows: dict[str, list[OrganizationFacts]] = defaultdict(list)
    for organization in facts.values():
        rows[organization.council].append(organization)
    return {council: members for council, members in rows.items() if len(members) > 1}


def test_the_referentiel_has_its_single_councils(councils):
    served = {council: sorted(o.id for o in rows) for council, rows in councils.items()}
    assert served["REG-94"] == ["DEP-2A", "DEP-2B", "REG-94"]  # the Collectivité de Corse
    assert served["DEP-67"] == ["DEP-67", "DEP-68"]  # the Collectivité européenne d'Alsace
    assert {"REG-03", "REG-02", "DEP-976", "217500016"} <= set(served)  # Guyane, Martinique, Mayotte, Paris


def test_a_council_publishing_through_any_row_publishes_and_covers_everywhere_it_serves(facts, councils):
    registry = Registry(dict(facts), {})
    for council, rows in sorted(councils.items()):
        served: set[Scope] = {territory for row in rows for territory in row.territories if territory[0] != "type"}
        whole = {("departement", r.departement) for r in rows if r.type == "DEP" and r.departement}
        whole |= {("region", r.region) for r in rows if r.type == "REG" and r.region}
        for row in rows:
            publication = publication_of([DatasetFacts(f"d-{row.id}", row.id, False)], NOW)
            pairs = {o.id: (o, publication if o.id == row.id else EMPTY) for o in facts.values()}
            expected = compute_scopes(pairs, EMPTY, served)
            for scope in served:
                values = expected[scope]
                assert values["obligated_publishing"] == values["organizations_publishing"] == 1, (row.id, scope)
                assert values["datasets"] == 1, (row.id, scope)
            for scope in whole:  # the territories its rows stand for are covered whole
                assert expected[scope]["coverage_rate"] == 1.0, (row.id, scope)
            registry.set_publication(row.id, publication)
            assert registry.compute(served) == expected, (council, row.id)
            registry.set_publication(row.id, EMPTY)
