"""Every event of the Observatoire, one pydantic model per type, versioned by `schema_version`.

Consumers validate `event_type` and `schema_version` strictly: an unknown version is a contract break
and goes to the dead-letter topic rather than being half-understood.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID, uuid4

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


def utcnow() -> datetime:
    return datetime.now(UTC)


def pydantic_style_json(value: dict[str, Any]) -> bytes:
    """Compact JSON as pydantic writes it (UTF-8, UTC as `Z`), for events written from plain values:
    the same bytes, hence the same hashes, as the models would give."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)


@dataclass(frozen=True)
class DocumentRef:
    """A JSON document a service stored in the transaction that emits an event around it (a canonical
    dataset's state): its id and hash find it again in the service's table."""

    id: str
    hash: str


@dataclass(frozen=True)
class SerialisedEvent:
    """An event as it goes to Kafka: where, under which key, and its JSON. A hot path (the harvest)
    writes its events straight in this form; `of` gives it for any model.

    With a `document`, `payload` is the event's JSON up to that document, which ends it: the outbox
    keeps this much, and its relay finds the document where the service stored it (`around`): in the
    memory of the process that stored it (`document_body`, shared.messaging.DocumentMemory), or in
    the service's table."""

    topic: str  # without the deployment's prefix
    key: str
    event_type: str
    payload: bytes
    document: DocumentRef | None = None
    document_body: bytes | None = field(default=None, compare=False, repr=False)  # when the producer has it

    def around(self, document: bytes) -> bytes:
        """The whole event, given its document."""
        return closed_around(self.payload, document)

    @classmethod
    def of(cls, event: "Event") -> "SerialisedEvent":
        return cls(event.topic, event.key(), type(event).__name__, event.model_dump_json().encode())


def closed_around(head: bytes, document: bytes) -> bytes:
    """An event's JSON from its bytes up to its document (see SerialisedEvent.document) and the document."""
    return b"".join((head, document, b"}"))


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: datetime = Field(default_factory=utcnow)
    producer: str
    correlation_id: str | None = None
    # Each type narrows these two: its name as a Literal (the topics' unions discriminate on it), and
    # its version, 1 until a change of its fields makes a version 2. A narrowed field keeps its place.
    event_type: str
    schema_version: Literal[1] = 1

    topic: ClassVar[str]

    def key(self) -> str:
        raise NotImplementedError


class RunEvent(Event):
    """An event of one harvest run of one source."""

    run_id: str
    source_id: str


Emitted = Event | SerialisedEvent  # what a handler emits: a model, or one already written as bytes


# --- harvest.commands -------------------------------------------------------------------------


class HarvestRequested(Event):
    topic: ClassVar[str] = "harvest.commands"
    event_type: Literal["HarvestRequested"] = "HarvestRequested"
    source_id: str
    mode: Literal["full", "incremental"] = "full"
    requested_by: str = "scheduler"

    def key(self) -> str:
        return self.source_id


# --- harvest.datasets -------------------------------------------------------------------------


class Publisher(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    remote_id: str | None = None
    siren: str | None = None
    # The département (COG code) of the portal's territory, when the source says it: decides between
    # homonym communes ("Saint-Denis" in 93 or 974).
    departement: str | None = None
    # The organisation that runs the portal, when the source names it: decides between homonyms of
    # which it is one ("DOUBS" on the Département du Doubs' portal), never against the words.
    portal_owner: str | None = None


class ResourceSchema(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    version: str | None = None


class Resource(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

    url: str
    format: str | None = None
    schema_: ResourceSchema | None = Field(default=None, alias="schema")


class UpstreamOrigin(BaseModel):
    """Where a portal says it harvested the dataset from (udata `harvest.*`)."""

    model_config = ConfigDict(frozen=True)

    backend: str | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    domain: str | None = None


# A portal record is keyed by (source, remote id) in a btree, whose entries PostgreSQL caps at about
# 2,700 bytes: 500 characters, 2,000 bytes at most in UTF-8. Real identifiers (udata ids, CKAN uuids,
# ODS and DCAT URIs) are under 200.
MAX_REMOTE_ID_LENGTH = 500


class DatasetDescription(BaseModel):
    """What a dataset says of itself, as a portal record (DatasetDiscovered) or as the Observatoire's
    consolidated dataset (CanonicalDataset) gives it.

    pydantic puts a base's fields before a class's own, in the order of the bases from the last: each
    model below declares the fields before these in a head class listed after this one, so that both
    keep their historical JSON order (hashed in content_hash, stored as the consolidator's state)."""

    model_config = ConfigDict(frozen=True)

    title: str
    description: str | None = None
    licence: str | None = None
    themes: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    resources: list[Resource] = Field(default_factory=list)
    created: datetime | None = None
    modified: datetime | None = None


class PortalRecordHead(RunEvent):
    """The fields of a DatasetDiscovered that come before its description."""

    topic: ClassVar[str] = "harvest.datasets"
    event_type: Literal["DatasetDiscovered"] = "DatasetDiscovered"
    portal_kind: str
    portal_url: str
    remote_id: str = Field(max_length=MAX_REMOTE_ID_LENGTH)
    remote_url: str | None = None
    publisher: Publisher


class DatasetDiscovered(DatasetDescription, PortalRecordHead):
    upstream: UpstreamOrigin | None = None
    content_hash: str

    def key(self) -> str:
        return f"{self.source_id}:{self.remote_id}"


# --- harvest.reuses ---------------------------------------------------------------------------


class ReuseDiscovered(RunEvent):
    """A reuse a portal lists (udata's réutilisations): an application, a visualisation, an article...
    made with some of that portal's datasets, named by their ids there (`datasets`)."""

    topic: ClassVar[str] = "harvest.reuses"
    event_type: Literal["ReuseDiscovered"] = "ReuseDiscovered"
    portal_url: str
    remote_id: str = Field(max_length=MAX_REMOTE_ID_LENGTH)
    title: str
    type: str | None = None  # the portal's type (udata: application, visualization, api, news_article...)
    url: str | None = None  # the reuse itself
    remote_url: str | None = None  # its page on the portal
    datasets: list[str] = Field(default_factory=list)  # remote ids, on this source, of the datasets it uses
    created: datetime | None = None
    modified: datetime | None = None

    def key(self) -> str:
        return f"{self.source_id}:{self.remote_id}"

    def record_keys(self) -> list[str]:
        """Its datasets as the keys of their portal records (`source_id:remote_id`)."""
        return sorted({f"{self.source_id}:{remote_id}" for remote_id in self.datasets})


# --- harvest.audience -------------------------------------------------------------------------


class AudienceMeasured(RunEvent):
    """What a portal says of its datasets' audience at a run (views, downloads, followers...), for up
    to AUDIENCE_CHUNK of its records: counts as that portal's software counts them (`counted_by`, its
    family), never to be added to another software's."""

    topic: ClassVar[str] = "harvest.audience"
    event_type: Literal["AudienceMeasured"] = "AudienceMeasured"
    counted_by: str  # the family whose counters these are (udata, ods)
    measured_at: datetime
    chunk: int = 0
    records: dict[str, dict[str, int]]  # remote id -> metric -> count

    def key(self) -> str:
        return f"{self.source_id}:{self.chunk}"


AUDIENCE_CHUNK = 2_000  # records per AudienceMeasured: about 150 kB of JSON


# --- harvest.runs -----------------------------------------------------------------------------


class HarvestRunStarted(RunEvent):
    topic: ClassVar[str] = "harvest.runs"
    event_type: Literal["HarvestRunStarted"] = "HarvestRunStarted"
    mode: Literal["full", "incremental"] = "full"

    def key(self) -> str:
        return self.source_id


class HarvestRunFinished(RunEvent):
    topic: ClassVar[str] = "harvest.runs"
    event_type: Literal["HarvestRunFinished"] = "HarvestRunFinished"
    # udata's job statuses: done, done-errors (some items failed), partial (stopped mid-way), failed
    status: Literal["done", "done-errors", "partial", "failed"]
    items_seen: int  # DatasetDiscovered published by the run: the consolidator counts them in
    errors: int
    complete: bool
    # Added in place (optional, so earlier events still validate): what withdrawals need. A full run
    # lists every dataset, an incremental one only what changed; the moment the run started separates
    # what it saw from what earlier runs saw; remote ids that failed to map are not missing.
    mode: Literal["full", "incremental"] | None = None
    started_at: datetime | None = None
    error_remote_ids: list[str] = Field(default_factory=list)

    def key(self) -> str:
        return self.source_id


# --- registry.* -------------------------------------------------------------------------------


class Obligation(BaseModel):
    """Whether an organisation must publish (CRPA L. 312-1-1: more than 3,500 inhabitants and at
    least 50 agents), with how that was decided, so that every denominator can be reproduced."""

    model_config = ConfigDict(frozen=True)

    obligated: bool | None  # None: cannot be decided (no population)
    method: Literal["population_only", "population_and_agents", "not_a_collectivite", "unknown"]
    population: int | None = None
    population_source: str | None = None
    agents: int | None = None
    agents_source: str | None = None


class Predecessor(BaseModel):
    """A commune or EPCI that no longer exists on its own and that an organisation succeeded: publishers
    keep writing its name or SIREN for years."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["commune-deleguee", "commune-associee", "commune", "epci"]
    insee_code: str | None = None
    siren: str | None = None
    departement: str | None = None
    last_edition: str | None = None  # the last edition of the référentiel that listed it on its own


class Organization(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str  # SIREN where known, else a COG-based id (REG-53, DEP-2A, COM-98818, COLOM-975)
    name: str
    type: str | None = None  # the Observatoire's code list: COM, CC, CA, CU, MET, EPT, DEP, REG, COLOM, AGCT...
    siren: str | None = None
    insee_code: str | None = None
    departement: str | None = None  # COG code
    region: str | None = None  # COG code
    epci: str | None = None  # SIREN of the EPCI à fiscalité propre the commune belongs to
    ept: str | None = None  # SIREN of the établissement public territorial (Grand Paris)
    population: int | None = None
    obligation: Obligation | None = None
    website: str | None = None  # known from contributions
    contact_url: str | None = None
    # Where one council serves several COG entries (Collectivité de Corse, Ville de Paris...), the id
    # of the organisation that stands for that council; indicators count each council once.
    council_id: str | None = None
    council_note: str | None = None
    # merged: a commune that merged into `successor_id`; replaced: the same organisation, now known
    # under `successor_id` (a département that learned its SIREN)
    status: Literal["active", "merged", "replaced"] = "active"
    successor_id: str | None = None
    aliases: list[str] = Field(default_factory=list)  # other ids it is known by; all stay resolvable
    predecessors: list[Predecessor] = Field(default_factory=list)  # the communes or EPCI it succeeded
    # field -> where its value comes from (referentiel:6.0.0, portal:..., contribution:...)
    provenance: dict[str, str] = Field(default_factory=dict)

    @property
    def obligated(self) -> bool | None:
        return self.obligation.obligated if self.obligation else None


class OrganizationChanged(Event):
    topic: ClassVar[str] = "registry.organizations"
    event_type: Literal["OrganizationChanged"] = "OrganizationChanged"
    organization: Organization

    def key(self) -> str:
        return self.organization.id


class ReferentielEntry(Event):
    """One organisation as the official référentiel describes it, for the consolidator to merge."""

    topic: ClassVar[str] = "registry.referentiel"
    event_type: Literal["ReferentielEntry"] = "ReferentielEntry"
    version: str
    organization: Organization

    def key(self) -> str:
        return self.organization.id


class DatasetSource(BaseModel):
    model_config = ConfigDict(frozen=True)

    source_id: str
    portal_kind: str
    portal_url: str
    remote_id: str
    remote_url: str | None = None
    first_seen: datetime
    last_seen: datetime
    origin: bool = True  # the dataset's own portal, not a copy harvested from elsewhere
    withdrawn_at: datetime | None = None  # missing from the portal's complete runs past the grace period


class Attribution(BaseModel):
    """Why a dataset is attributed to its organisation: the rule and confidence of the match, and the
    portal record whose publisher decided it."""

    model_config = ConfigDict(frozen=True)
    rule: str  # a matcher rule (siren, alias, name, ...), siren-new, or contribution
    confidence: float
    source_id: str | None = None
    publisher: str | None = None


class CanonicalDatasetHead(BaseModel):
    """The fields of a CanonicalDataset that come before its description."""

    model_config = ConfigDict(frozen=True)

    id: str
    organization_id: str | None


class CanonicalDataset(DatasetDescription, CanonicalDatasetHead):
    withdrawn: bool = False
    sources: list[DatasetSource] = Field(default_factory=list)
    attribution: Attribution | None = None
    # field -> contribution:<id> where a contribution overrides the portals
    provenance: dict[str, str] = Field(default_factory=dict)
    # Found to be the same dataset as another one: withdrawn, its records now belong to `merged_into`.
    merged_into: str | None = None


class DatasetChanged(Event):
    topic: ClassVar[str] = "registry.datasets"
    event_type: Literal["DatasetChanged"] = "DatasetChanged"
    change: Literal["created", "updated", "withdrawn"]
    dataset: CanonicalDataset

    def key(self) -> str:
        return self.dataset.id


def serialised_dataset_changed(
    producer: str, correlation_id: str | None, change: str, dataset_id: str, state_hash: str, state: str | None = None
) -> SerialisedEvent:
    """A DatasetChanged around a dataset already written as JSON (the consolidator stores that JSON as
    the dataset's state): with the state, the same bytes as `DatasetChanged(...).model_dump_json()`,
    without writing the dataset a second time, nor copying it into the outbox."""
    envelope = {
        "event_id": str(uuid4()),
        "occurred_at": utcnow(),
        "producer": producer,
        "correlation_id": correlation_id,
        "event_type": "DatasetChanged",
        "schema_version": 1,
        "change": change,
    }
    head = pydantic_style_json(envelope)[:-1]  # without its closing brace
    return SerialisedEvent(
        DatasetChanged.topic,
        dataset_id,
        "DatasetChanged",
        head + b',"dataset":',
        document=DocumentRef(dataset_id, state_hash),
        document_body=state.encode() if state is not None else None,
    )


# --- contributions.events ---------------------------------------------------------------------


class ContributionEvent(Event):
    contribution_id: str
    organization_id: str
    field: str
    value: Any = None
    dataset_id: str | None = None  # set when the contribution is about one of the organisation's datasets

    def key(self) -> str:
        return self.organization_id


class ContributionSubmitted(ContributionEvent):
    topic: ClassVar[str] = "contributions.events"
    event_type: Literal["ContributionSubmitted"] = "ContributionSubmitted"
    comment: str | None = None


class ContributionDecided(ContributionEvent):
    """A moderator's decision on a contribution (the fields keep their order in each decision)."""

    topic: ClassVar[str] = "contributions.events"
    moderator: str
    comment: str | None = None


class ContributionAccepted(ContributionDecided):
    event_type: Literal["ContributionAccepted"] = "ContributionAccepted"


class ContributionRejected(ContributionDecided):
    event_type: Literal["ContributionRejected"] = "ContributionRejected"


# --- indicators.updated -----------------------------------------------------------------------

# A platform's scope id is its address (ODF's platforms: the portals the records come from).
Scope = Literal["organization", "departement", "region", "type", "national", "platform"]


class IndicatorsUpdated(Event):
    topic: ClassVar[str] = "indicators.updated"
    event_type: Literal["IndicatorsUpdated"] = "IndicatorsUpdated"
    scope: Scope
    scope_id: str
    values: dict[str, float | int | None]
    computed_at: datetime = Field(default_factory=utcnow)

    def key(self) -> str:
        return f"{self.scope}:{self.scope_id}"


# --- one union per topic, for consumers -------------------------------------------------------

HarvestRunEvent = Annotated[HarvestRunStarted | HarvestRunFinished, Field(discriminator="event_type")]
ContributionEventUnion = Annotated[
    ContributionSubmitted | ContributionAccepted | ContributionRejected, Field(discriminator="event_type")
]

EVENT_TYPES: tuple[type[Event], ...] = (
    HarvestRequested,
    ReferentielEntry,
    DatasetDiscovered,
    ReuseDiscovered,
    AudienceMeasured,
    HarvestRunStarted,
    HarvestRunFinished,
    OrganizationChanged,
    DatasetChanged,
    ContributionSubmitted,
    ContributionAccepted,
    ContributionRejected,
    IndicatorsUpdated,
)

harvest_run_adapter: TypeAdapter[HarvestRunStarted | HarvestRunFinished] = TypeAdapter(HarvestRunEvent)
