import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.events import (
    EVENT_TYPES,
    CanonicalDataset,
    DatasetChanged,
    DatasetDiscovered,
    DocumentRef,
    Publisher,
    harvest_run_adapter,
    serialised_dataset_changed,
)
from shared.messaging import DocumentMemory
from shared.topics import MAIN_TOPICS


def test_every_event_type_names_a_topic_of_the_design():
    topics = {spec.name for spec in MAIN_TOPICS}
    assert {event.topic for event in EVENT_TYPES} == topics


def sample() -> DatasetDiscovered:
    return DatasetDiscovered(
        producer="t",
        run_id="r",
        source_id="s",
        portal_kind="udata",
        portal_url="u",
        remote_id="42",
        publisher=Publisher(name="Ville de Rennes"),
        title="Budget",
        content_hash="h",
        resources=[{"url": "https://x/a.csv", "format": "csv", "schema": {"name": "scdl/budget", "version": "0.8"}}],
    )


def test_an_event_round_trips_through_json_with_its_envelope():
    event = sample()
    payload = json.loads(event.model_dump_json())
    assert payload["event_type"] == "DatasetDiscovered"
    assert payload["schema_version"] == 1
    assert payload["resources"][0]["schema"] == {"name": "scdl/budget", "version": "0.8"}
    assert DatasetDiscovered.model_validate(payload) == event
    assert event.key() == "s:42"


def test_an_unknown_schema_version_is_refused():
    payload = json.loads(sample().model_dump_json())
    payload["schema_version"] = 2
    with pytest.raises(ValidationError):
        DatasetDiscovered.model_validate(payload)


def test_run_events_are_told_apart_by_their_type():
    started = harvest_run_adapter.validate_python(
        {"event_type": "HarvestRunStarted", "producer": "h", "run_id": "r", "source_id": "s"}
    )
    assert type(started).__name__ == "HarvestRunStarted"
    with pytest.raises(ValidationError):
        harvest_run_adapter.validate_python({"event_type": "Nope", "producer": "h", "run_id": "r", "source_id": "s"})


@given(
    title=st.text(min_size=1),
    description=st.none() | st.text(),
    correlation_id=st.none() | st.text(),
    created=st.none() | st.datetimes(timezones=st.just(UTC)),
    change=st.sampled_from(["created", "updated", "withdrawn"]),
)
def test_a_dataset_changed_written_around_the_stored_state_is_the_models_json(
    title: str, description: str | None, correlation_id: str | None, created: datetime | None, change: str
) -> None:
    dataset = CanonicalDataset(
        id="d1", organization_id="org", title=title, description=description, created=created, themes=["é"]
    )
    serialised = serialised_dataset_changed("consolidator", correlation_id, change, dataset.id, "hash-1")
    assert serialised.document == DocumentRef("d1", "hash-1")  # the outbox keeps where the state is
    payload = serialised.around(dataset.model_dump_json().encode())  # as the relay completes it
    event = DatasetChanged.model_validate_json(payload)
    assert (event.dataset, event.change, event.correlation_id) == (dataset, change, correlation_id)
    assert payload == event.model_dump_json().encode()  # the same bytes as the model writes
    assert (serialised.topic, serialised.key, serialised.event_type) == (DatasetChanged.topic, "d1", "DatasetChanged")


def test_the_relay_s_memory_of_documents_keeps_the_newest_within_its_bound() -> None:
    """shared.messaging.DocumentMemory: past its bound the oldest documents are forgotten (the relay
    reads those from the service's table); a document kept again replaces its copy."""
    memory = DocumentMemory(max_bytes=25)
    events = [serialised_dataset_changed("test", None, "created", d, "h", "0123456789") for d in ("a", "b", "c")]
    memory.keep(events[:2])
    memory.keep(events[:1])  # "a" again: now the newest
    assert (len(memory), memory.bytes) == (2, 20)
    memory.keep(events[2:])  # 30 bytes: the oldest, "b", goes
    refs = [e.document for e in events if e.document]
    assert set(memory.find(refs)) == {refs[0], refs[2]} and memory.bytes == 20
    memory.forget(refs)
    assert (len(memory), memory.bytes) == (0, 0)
