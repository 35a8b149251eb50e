"""Which family reads a portal: the address is probed as each family's API answers, and the first
that answers as that API does names the family, with the evidence. Used by
`python -m services.harvester sources detect URL`, by `POST /api/v1/sources` without a family and
when a contributed portal of unknown technology is accepted.

Probes, in order, each one GET (what answers is read, never trusted further):
- the address itself: a DCAT-US feed (ArcGIS Hub), an RDF document with a DCAT catalogue, a CSW
  capabilities document, or an HTML page whose `<link rel="alternate">` names a DCAT catalogue;
- `/api/1/datasets/?page_size=1` (udata), `/api/explore/v2.1/catalog/datasets?limit=1`
  (OpenDataSoft), `/api/3/action/status_show` (CKAN, also under Data4Citizen's
  `/fr/indexer/service/ckan`), `/api/feed/dcat-us/1.1.json` (ArcGIS Hub), GeoNetwork's
  `/geonetwork/srv/fre/csw` capabilities.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urljoin, urlsplit

from services.harvester.fetch import Fetcher, FetchError, parse_json
from services.harvester.rdf import Unreadable, detect_format, is_dcat_us, parse_page

DCAT = "http://www.w3.org/ns/dcat#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
ALTERNATE = re.compile(r"<link\b[^>]*\brel=[\"']alternate[\"'][^>]*>", re.IGNORECASE)
RDF_MEDIA_TYPES = ("application/rdf+xml", "text/turtle", "application/ld+json")
CSW_CAPABILITIES = "?service=CSW&version=2.0.2&request=GetCapabilities"


@dataclass(frozen=True)
class Detection:
    family: str | None  # None: no family reads it
    url: str | None  # the source URL for that family
    evidence: str  # what answered, or why nothing did
    tried: list[str] = field(default_factory=list)  # each probe and its outcome


async def detect(fetcher: Fetcher, url: str) -> Detection:
    tried: list[str] = []
    base = url.rstrip("/")
    found = await _the_address_itself(fetcher, url, tried)
    if found:
        return Detection(*found, tried=tried)
    for probe in (_udata, _ods, _ckan, _arcgis, _geonetwork):
        if found := await probe(fetcher, base, tried):
            return Detection(*found, tried=tried)
    return Detection(None, None, "aucune famille ne lit cette adresse", tried=tried)


async def _get(fetcher: Fetcher, url: str, tried: list[str]) -> tuple[bytes, str] | None:
    try:
        return await fetcher.get_document(url)
    except FetchError as exc:
        tried.append(f"{url} : {exc.reason}")
        return None


async def _json(fetcher: Fetcher, url: str, tried: list[str]) -> Any:
    answer = await _get(fetcher, url, tried)
    if answer is None:
        return None
    try:
        return parse_json(answer[0])
    except ValueError:
        tried.append(f"{url} : pas du JSON")
        return None


async def _the_address_itself(fetcher: Fetcher, url: str, tried: list[str]) -> tuple[str, str, str] | None:
    answer = await _get(fetcher, url, tried)
    if answer is None:
        return None
    body, media_type = answer
    if b"Capabilities" in body[:2000] and b"opengis.net/cat/csw" in body[:4000]:
        return "csw", url.split("?", 1)[0], f"{url} est un service CSW (GetCapabilities)"
    rdf_format = detect_format(url, media_type, body)
    if rdf_format is not None:
        try:
            document = parse_json(body) if body.lstrip()[:1] in (b"{", b"[") else None
        except ValueError:
            document = None
        if is_dcat_us(document):
            return "arcgis", url, f"{url} est un flux DCAT-US ({len(document['dataset'])} jeux)"
        if _is_dcat(body, rdf_format, url):
            return "dcat", url, f"{url} est un catalogue DCAT ({rdf_format.name})"
    if "html" in media_type:
        for link in ALTERNATE.findall(body[:200_000].decode("utf-8", errors="replace")):
            kind = re.search(r"\btype=[\"']([^\"']+)", link)
            href = re.search(r"\bhref=[\"']([^\"']+)", link)
            if kind and href and kind.group(1).lower() in RDF_MEDIA_TYPES:
                target = urljoin(url, href.group(1))
                linked = await _get(fetcher, target, tried)
                target_format = detect_format(target, linked[1], linked[0]) if linked else None
                if linked and target_format and _is_dcat(linked[0], target_format, target):
                    return "dcat", target, f"la page {url} annonce le catalogue DCAT {target}"
    tried.append(f"{url} : ni catalogue DCAT, ni flux DCAT-US, ni service CSW")
    return None


def _is_dcat(body: bytes, rdf_format: Any, url: str) -> bool:
    try:
        graph = parse_page(body, rdf_format, url).graph
    except (Unreadable, ValueError, SyntaxError):
        return False
    kinds = {str(o.value) for p in graph.values() for o in p.get(RDF_TYPE, ())}
    return bool(kinds & {DCAT + "Catalog", DCAT + "Dataset"})


async def _json_api(
    family: str, path: str, recognised: Callable[[dict[str, Any]], bool], described: Callable[[dict[str, Any]], str],
    fetcher: Fetcher, base: str, tried: list[str],
) -> tuple[str, str, str] | None:  # fmt: skip
    """`family` if its API answers at `base` + `path` with a page it recognises."""
    probe = base + path
    page = await _json(fetcher, probe, tried)
    if isinstance(page, dict) and recognised(page):
        return family, base, f"{probe} {described(page)}"
    return None


_udata = partial(
    _json_api, "udata", "/api/1/datasets/?page_size=1",
    lambda page: isinstance(page.get("data"), list) and "next_page" in page,
    lambda page: f"répond comme l'API de udata ({page.get('total')} jeux)",
)  # fmt: skip
_ods = partial(
    _json_api, "ods", "/api/explore/v2.1/catalog/datasets?limit=1",
    lambda page: isinstance(page.get("total_count"), int) and "results" in page,
    lambda page: f"répond comme OpenDataSoft ({page['total_count']} jeux)",
)  # fmt: skip


async def _ckan(fetcher: Fetcher, base: str, tried: list[str]) -> tuple[str, str, str] | None:
    for root in (base, f"{base}/fr/indexer/service/ckan"):
        probe = f"{root}/api/3/action/status_show"
        status = await _json(fetcher, probe, tried)
        if isinstance(status, dict) and status.get("success") is True:
            version = (status.get("result") or {}).get("ckan_version", "?")
            return "ckan", root, f"{probe} répond comme CKAN (version {version})"
    return None


async def _arcgis(fetcher: Fetcher, base: str, tried: list[str]) -> tuple[str, str, str] | None:
    probe = f"{base}/api/feed/dcat-us/1.1.json"
    feed = await _json(fetcher, probe, tried)
    if is_dcat_us(feed):
        return "arcgis", probe, f"{probe} est le flux DCAT-US d'ArcGIS Hub ({len(feed['dataset'])} jeux)"
    return None


async def _geonetwork(fetcher: Fetcher, base: str, tried: list[str]) -> tuple[str, str, str] | None:
    host = urlsplit(base)
    root = base if "/geonetwork" in host.path else f"{base}/geonetwork"
    endpoint = f"{root.split('/srv/')[0]}/srv/fre/csw"
    answer = await _get(fetcher, endpoint + CSW_CAPABILITIES, tried)
    if answer and b"Capabilities" in answer[0][:2000] and b"opengis.net/cat/csw" in answer[0][:4000]:
        return "csw", endpoint, f"{endpoint} répond à GetCapabilities (GeoNetwork)"
    if answer:
        tried.append(f"{endpoint} : pas de capacités CSW")
    return None
