"""What every portal family shares when it turns a portal's record into a DatasetDiscovered: clean
text, licences and formats normalised to small vocabularies, schema references, dates, and the
content hash that lets the consolidator skip what did not change."""

import hashlib
import html
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from services.harvester import vocabularies
from shared.events import DatasetDiscovered, ReuseDiscovered, SerialisedEvent, pydantic_style_json
from shared.vocabulary import LICENCES, OPEN_LICENCES

JsonObject = dict[str, Any]

LICENCE_VOCABULARY = LICENCES
SCHEMA_URL = re.compile(r"^https?://schema\.data\.gouv\.fr/schemas/(?P<name>[^/]+/[^/]+)/(?P<version>[^/]+)/")
# An SCDL schema in Open Data France's repositories: .../scdl/<name>/raw/<version>/schema.json (or blob/).
SCDL_URL = re.compile(r"^https?://[^/]+/scdl/(?P<name>[a-z0-9-]+)/(?:-/)?(?:raw|blob)/v?(?P<version>[^/]+)/")
# A Table Schema or JSON Schema file anywhere else (GitHub, GitLab, a portal's own files): a JSON file.
SCHEMA_FILE = re.compile(r"^https?://[^?#]+\.json(?:[?#].*)?$", re.IGNORECASE)
TAGS = re.compile(r"<[^>]+>")
# Control characters that are not whitespace (NUL, BEL...): portals' exports leave some in titles,
# and PostgreSQL's text refuses NUL.
CONTROL_CHARACTERS = dict.fromkeys([*(c for c in range(32) if not chr(c).isspace()), 127])


def clean_text(raw: Any) -> str | None:
    """Plain text: HTML tags removed, entities decoded, control characters dropped, whitespace
    collapsed; None when empty."""
    if raw is None:
        return None
    text = str(raw)
    if "<" in text or "&" in text:  # most values have no markup: skip the regular expression then
        text = html.unescape(TAGS.sub(" ", text))
    return " ".join(text.translate(CONTROL_CHARACTERS).split()) or None


def normalise_licence(raw: Any) -> str | None:
    return vocabularies.normalise_licence(clean_text(raw))


def first_open_licence(stated: list[str]) -> str | None:
    """Of the licences a record states, the first that is open, else the first stated (as stated)."""
    return next((text for text in stated if normalise_licence(text) in OPEN_LICENCES), stated[0] if stated else None)


def normalise_format(raw: Any) -> str | None:
    return vocabularies.normalise_format(clean_text(raw))


def schema_of(raw: Any) -> JsonObject | None:
    """A resource's declared schema: udata's {name, version, url} (a known schema by its name, an
    unknown one by its URL), or a URL as CKAN's `schema`, DCAT's and ArcGIS' `conformsTo` give it:
    schema.data.gouv.fr's (named as there, "scdl/budget"), an SCDL repository's (named "scdl/<name>"
    like schema.data.gouv.fr's, so it counts as SCDL), or any other JSON file (a Table Schema or JSON
    Schema, named by its URL). Anything else (a CRS, a regulation) declares no schema."""
    if isinstance(raw, dict):
        if raw.get("name"):
            return {"name": str(raw["name"]), "version": optional_text(raw.get("version"))}
        raw = raw.get("url")
    if not isinstance(raw, str):
        return None
    url = raw.strip()
    if match := SCHEMA_URL.match(url):
        version = match.group("version")
        return {"name": match.group("name"), "version": None if version == "latest" else version}
    if match := SCDL_URL.match(url):
        version = match.group("version")
        return {"name": f"scdl/{match.group('name')}", "version": None if version in ("master", "main") else version}
    if SCHEMA_FILE.match(url):
        return {"name": url, "version": None}
    return None


def parse_date(raw: Any) -> datetime | None:
    """ISO 8601 as portals write it (with or without zone, `Z`, milliseconds); naive means UTC."""
    if raw is None or raw == "":
        return None
    try:
        moment = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def optional_text(raw: Any) -> str | None:
    return None if raw is None else str(raw)


def clean_url(raw: Any) -> str | None:
    """A URL as the portal gives it, trimmed. Never HTML-unescaped: `&param=` and `&region=` are
    query parameters, not the entities `¶m=` and `®ion=`; only the `&amp;` of feeds that escape
    their XML twice is read as `&`."""
    if raw is None:
        return None
    text = str(raw).translate(CONTROL_CHARACTERS).strip().replace("&amp;", "&")
    return text or None


def resource(url: Any, fmt: Any = None, schema: Any = None) -> JsonObject | None:
    """A `Resource` of the event, as its JSON object."""
    link = clean_url(url)
    if not link:
        return None
    return {"url": link, "format": normalise_format(fmt), "schema": schema_of(schema)}


def publisher_of(name: Any, remote_id: Any = None, siren: Any = None) -> JsonObject:
    """A `Publisher` of the event, as its JSON object (`departement` comes from the source)."""
    return {"name": str(name), "remote_id": optional_text(remote_id), "siren": optional_text(siren),
            "departement": None}  # fmt: skip


def upstream_of(backend: Any = None, remote_id: Any = None, remote_url: Any = None, domain: Any = None) -> JsonObject:
    """An `UpstreamOrigin` of the event (udata's `harvest.*`), as its JSON object."""
    return {
        "backend": optional_text(backend),
        "remote_id": optional_text(remote_id),
        "remote_url": optional_text(remote_url),
        "domain": optional_text(domain),
    }


class RunFields(TypedDict):
    """What every event of a harvest run carries: produced by the harvester, correlated by its run."""

    producer: str
    correlation_id: str
    run_id: str
    source_id: str


def of_run(run_id: str, source_id: str) -> RunFields:
    return RunFields(producer="harvester", correlation_id=run_id, run_id=run_id, source_id=source_id)


@dataclass(frozen=True, slots=True)
class RecordOrigin:
    """Where a portal record was seen: the run, its source and portal, and the record's id there.
    `territory` and `owner` are the source's département and owning organisation, when it has them."""

    run_id: str
    source_id: str
    portal_kind: str
    portal_url: str
    remote_id: str
    territory: str | None = None
    owner: str | None = None


def discovered(
    origin: RecordOrigin,
    *,
    remote_url: Any,
    publisher: JsonObject,
    title: Any,
    description: Any = None,
    licence: Any = None,
    themes: Any = (),
    tags: Any = (),
    resources: Any = (),
    created: Any = None,
    modified: Any = None,
    upstream: JsonObject | None = None,
) -> SerialisedEvent:
    """The DatasetDiscovered for one dataset, serialised; raises ValueError when the record cannot
    make one (no title), TypeError when a value cannot be written as JSON.

    The hot path of a harvest: the event is written once from plain values, in the order of the
    model's fields, rather than validated as a model and serialised twice (for its hash, then to
    publish). The unit tests validate what it writes against `DatasetDiscovered` for every family."""
    clean_title = clean_text(title)
    if not clean_title:
        raise ValueError("dataset without a title")
    odf_themes, other_themes = vocabularies.split_themes(t for t in (clean_text(x) for x in themes) if t)
    if origin.territory and not publisher["departement"]:
        publisher = {**publisher, "departement": origin.territory}
    if origin.owner:  # only then: the records of sources without an owner keep their content hashes
        publisher = {**publisher, "portal_owner": origin.owner}
    described: JsonObject = {  # HASHED_FIELDS, in the model's order
        "remote_url": optional_text(remote_url),
        "publisher": publisher,
        "title": clean_title,
        "description": clean_text(description),
        "licence": normalise_licence(licence),
        "themes": odf_themes,
        "tags": sorted({*(t for t in (clean_text(x) for x in tags) if t), *other_themes}),  # themes cleaned above
        "resources": [r for r in resources if r is not None],
        "created": parse_date(created),
        "modified": parse_date(modified),
        "upstream": upstream,
    }
    event = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC),
        "producer": "harvester",
        "correlation_id": origin.run_id,
        "event_type": "DatasetDiscovered",
        "schema_version": 1,
        "run_id": origin.run_id,
        "source_id": origin.source_id,
        "portal_kind": origin.portal_kind,
        "portal_url": origin.portal_url,
        "remote_id": origin.remote_id,
        **described,
        "content_hash": hashlib.sha256(pydantic_style_json(described)).hexdigest(),
    }
    return SerialisedEvent(
        topic=DatasetDiscovered.topic, key=f"{origin.source_id}:{origin.remote_id}", event_type="DatasetDiscovered",
        payload=pydantic_style_json(event),
    )  # fmt: skip


HASHED_FIELDS: set[str] = {
    "title",
    "description",
    "publisher",
    "licence",
    "themes",
    "tags",
    "resources",
    "created",
    "modified",
    "upstream",
    "remote_url",
}


def content_hash(event: DatasetDiscovered) -> str:
    """SHA-256 of what the portal says about the dataset, independent of the run that saw it: the
    JSON of HASHED_FIELDS in the model's order (themes and tags sorted). `discovered` computes the
    same from plain values; this is the definition, from the model."""
    # A publisher without a portal owner is written without the key, as before owners were carried.
    unowned = {"publisher": {"portal_owner"}} if event.publisher.portal_owner is None else None
    return hashlib.sha256(event.model_dump_json(include=HASHED_FIELDS, exclude=unowned).encode()).hexdigest()


def reuse_discovered(
    origin: RecordOrigin,
    *,
    title: Any,
    type: Any = None,
    url: Any = None,
    remote_url: Any = None,
    datasets: Any = (),
    created: Any = None,
    modified: Any = None,
) -> SerialisedEvent:
    """The ReuseDiscovered for one reuse a portal lists; raises ValueError without a title. Its
    datasets are the ids the portal gives them, kept in order, once each."""
    clean_title = clean_text(title)
    if not clean_title:
        raise ValueError("reuse without a title")
    ids = [str(d).strip() for d in datasets if d is not None and str(d).strip()]
    event = ReuseDiscovered(
        **of_run(origin.run_id, origin.source_id),
        portal_url=origin.portal_url,
        remote_id=origin.remote_id,
        title=clean_title,
        type=optional_text(type),
        url=optional_text(url),
        remote_url=optional_text(remote_url),
        datasets=list(dict.fromkeys(ids)),
        created=parse_date(created),
        modified=parse_date(modified),
    )
    return SerialisedEvent.of(event)
