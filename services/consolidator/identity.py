"""Which canonical dataset a portal record belongs to: the keys that identify a dataset across portals.

A record (one dataset on one portal) yields, strongest first:

1. its *origin key*: where the dataset really comes from. For a record a portal harvested from
   elsewhere (udata `harvest.remote_id` + `harvest.domain`, ODS federation `source_domain` +
   `source_dataset`), the upstream identity; otherwise the record's own. The canonical dataset's id is
   derived from it, so the local record and its copies on data.gouv.fr get the same id whichever
   arrives first.
2. `uri:` keys: a remote id that is an absolute URI names the dataset on every portal (udata's rule).
3. `url:` keys: the landing page (`remote_url`) of the record and of its upstream.
4. `files:` key: the exact set of downloadable file URLs (data.gouv.fr keeps the local portal's
   download URLs); this also follows a remote id that changed upstream. Service endpoints (API, WMS,
   WFS) are left out: many datasets share one.

A key longer than `MAX_KEY_BYTES` (a landing page with a long query string) is kept as its kind and
the SHA-256 of its text: btree entries are capped at about 2,700 bytes, and equal texts still give
equal keys (shorter keys are kept as they are, as they always were).

Identifiers that are not URIs are only unique on their portal: they are scoped by domain, so two
portals that both call a dataset "1" never merge. An ODS `/explore/dataset/<id>/` URL and the
`(domain, dataset_id)` pair of a federated copy are the same key.
"""

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from functools import lru_cache

from shared.events import DatasetDiscovered

DATASET_NAMESPACE = uuid.UUID("6c1f3d0e-5b7a-4c47-9a53-0b6f4a2d8e11")
ODS_EXPLORE = re.compile(r"^(?P<site>.*?)/explore/dataset/(?P<id>[^/?#]+)/?$")
SERVICE_FORMATS = frozenset({"api", "wms", "wfs"})
MAX_KEY_BYTES = 2000


def canonical_id(origin_key: str) -> str:
    return str(uuid.uuid5(DATASET_NAMESPACE, origin_key))


@lru_cache(maxsize=8192)  # a few thousand portals and hosts: each one normalised once
def domain_of(url_or_domain: str | None) -> str:
    """`data.example.fr` for `https://www.data.example.fr/x` and for `www.Data.example.fr`."""
    if not url_or_domain:
        return ""
    text = url_or_domain.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    netloc = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    netloc = netloc.lower().removeprefix("www.")
    return netloc.removesuffix(":443").removesuffix(":80")


def normalised_url(url: str) -> str:
    """The URL without scheme, `www.`, default port, fragment or trailing slash; host in lower case.
    (String operations rather than urlsplit: this runs several times per dataset.)"""
    text = url.strip().split("#", 1)[0]
    if "://" in text:
        text = text.split("://", 1)[1]
    host, slash, rest = text.partition("/")
    path, question, query = (slash + rest).partition("?")
    if not slash:  # no path: the query, if any, follows the host
        host, question, query = host.partition("?")
    return f"{domain_of(host)}{path.rstrip('/')}{question}{query}"


def is_uri(value: str) -> bool:
    return value.startswith(("http://", "https://")) and len(value) > 8


def identity_key(domain: str | None, remote_id: str) -> str:
    """The key of a dataset known as `remote_id` on the portal at `domain`."""
    remote_id = remote_id.strip()
    if is_uri(remote_id):
        if match := ODS_EXPLORE.match(remote_id):
            return f"id:{normalised_url(match['site'])}|{match['id']}"
        return f"uri:{normalised_url(remote_id)}"
    site = (domain or "").strip()
    return f"id:{normalised_url(site if '://' in site else 'http://' + site)}|{remote_id}"


def is_identity_key(key: str) -> bool:
    """Identifiers name a dataset; landing pages and file sets only suggest it."""
    return key.startswith(("id:", "uri:"))


def origin_key(event: DatasetDiscovered) -> str:
    upstream = event.upstream
    if upstream and upstream.remote_id:
        return identity_key(upstream.domain or domain_of(upstream.remote_url), upstream.remote_id)
    return identity_key(_portal_site(event), event.remote_id)


def is_origin(event: DatasetDiscovered) -> bool:
    """Whether this record is the dataset's own portal rather than a copy harvested from elsewhere."""
    return not (event.upstream and event.upstream.remote_id)


def record_keys(event: DatasetDiscovered) -> list[str]:
    """Every key of the record, strongest first, without repeats."""
    keys = [origin_key(event), identity_key(_portal_site(event), event.remote_id)]
    upstream = event.upstream
    for remote_id in (event.remote_id, upstream.remote_id if upstream else None):
        if remote_id and is_uri(remote_id.strip()):
            keys.append(f"uri:{normalised_url(remote_id)}")
    for page in (event.remote_url, upstream.remote_url if upstream else None):
        if page and is_uri(page.strip()):
            keys.append(f"url:{normalised_url(page)}")
    files = sorted(
        {normalised_url(r.url) for r in event.resources if is_uri(r.url) and (r.format or "") not in SERVICE_FORMATS}
    )
    if files:
        keys.append("files:" + hashlib.sha256("\n".join(files).encode()).hexdigest())
    return list(dict.fromkeys(bounded(key) for key in keys))


def bounded(key: str) -> str:
    """The key, or its kind and the SHA-256 of its text when it is too long to index."""
    if len(key) <= MAX_KEY_BYTES // 4 or len(key.encode()) <= MAX_KEY_BYTES:  # a character is 4 bytes at most
        return key
    kind, _, _ = key.partition(":")
    return f"{kind}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def _portal_site(event: DatasetDiscovered) -> str:
    """The portal's domain, as a portal that harvests it would record it."""
    return domain_of(event.portal_url)


RecordKey = tuple[str, str]  # (source id, remote id): one record of one portal


@dataclass
class IdentityPlan:
    """Where a batch's records go: each record's canonical dataset, the datasets found to be one
    (absorbed -> survivor), the datasets created, and the keys to store with their owner."""

    dataset_of: dict[RecordKey, str] = field(default_factory=dict)
    merges: dict[str, str] = field(default_factory=dict)
    minted: set[str] = field(default_factory=set)  # created here, and holding no stored record
    new_keys: list[tuple[str, str]] = field(default_factory=list)  # (key, dataset id), sorted


def plan_identities(records: list[tuple[RecordKey, list[str], str | None]], stored: dict[str, str]) -> IdentityPlan:
    """The canonical dataset of each record (its key, its keys strongest first, the dataset it was in
    before), given the owners of the keys already stored.

    A record whose identity keys (id:, uri:) lead to several datasets joins them into one: the one
    named after its origin key if it is among them, else the owner of its strongest key. Weak keys
    (url:, files:) only attach a record no identity key placed, and never join datasets."""
    owners = dict(stored)
    plan = IdentityPlan()
    for record, keys, before in records:
        strong = [owners[k] for k in keys if k in owners and is_identity_key(k)]
        found = list(dict.fromkeys(survivor(d, plan.merges) for d in [*strong, *([before] if before else [])]))
        weak = next((survivor(owners[k], plan.merges) for k in keys if k in owners and not is_identity_key(k)), None)
        origin = survivor(canonical_id(keys[0]), plan.merges)
        dataset_id = origin if origin in found or not (found or weak) else (found[0] if found else weak)
        assert dataset_id is not None
        if not (found or weak):
            plan.minted.add(dataset_id)
        for absorbed in found:
            if absorbed != dataset_id:
                plan.merges[absorbed] = dataset_id
        plan.dataset_of[record] = dataset_id
        for key in keys:
            owners.setdefault(key, dataset_id)  # a later record of the same batch finds it too
    plan.merges = {absorbed: survivor(absorbed, plan.merges) for absorbed in plan.merges}
    plan.dataset_of = {record: survivor(d, plan.merges) for record, d in plan.dataset_of.items()}
    plan.new_keys = sorted((k, survivor(d, plan.merges)) for k, d in owners.items() if k not in stored)
    # A dataset minted here that absorbed a stored one holds stored records too: it is read back.
    plan.minted -= set(plan.merges) | set(plan.merges.values())
    return plan


def survivor(dataset_id: str, merges: dict[str, str]) -> str:
    """The dataset that holds `dataset_id`'s records now: A absorbed by B, B by C: A's records end in C."""
    while dataset_id in merges:
        dataset_id = merges[dataset_id]
    return dataset_id
