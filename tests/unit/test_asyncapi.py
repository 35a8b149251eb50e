from pathlib import Path

from shared.asyncapi import generate

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def test_the_committed_asyncapi_document_matches_the_code():
    assert DOCUMENT.read_text() == generate(), "docs/asyncapi.yaml is stale: run `make asyncapi` and commit it"


def test_the_asyncapi_document_lists_every_topic_with_its_event_schemas():
    text = generate()
    for topic in (
        "harvest.commands",
        "harvest.datasets",
        "harvest.runs",
        "registry.organizations",
        "registry.datasets",
        "contributions.events",
        "indicators.updated",
    ):
        assert f"address: {topic}\n" in text
    for event in (
        "HarvestRequested",
        "DatasetDiscovered",
        "HarvestRunStarted",
        "HarvestRunFinished",
        "OrganizationChanged",
        "DatasetChanged",
        "ContributionSubmitted",
        "ContributionAccepted",
        "ContributionRejected",
        "IndicatorsUpdated",
    ):
        assert f"    {event}:\n" in text, event
