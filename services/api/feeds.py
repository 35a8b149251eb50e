"""Atom feeds for people who follow an organisation or a territory: its new datasets, its withdrawn
datasets, and the thresholds its indicators crossed from one day to the next (a share passing 50 %, a
territory's opening rate passing a quarter...). `crossings` and `atom_feed` are pure; the routes read
feed_queries.py."""

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from aiohttp import web
from yarl import URL

from services.api import feed_queries, repository
from services.api.open_data import public_base
from services.api.params import NotFound
from shared.service import Runtime

ATOM = "http://www.w3.org/2005/Atom"
THRESHOLDS: dict[str, tuple[str, tuple[float, ...]]] = {  # indicator -> (its French name, thresholds)
    "opening_rate": ("le taux d'ouverture", (0.25, 0.5, 0.75)),
    "open_format_share": ("la part des jeux de données en format ouvert", (0.5,)),
    "open_licence_share": ("la part des jeux de données sous licence ouverte", (0.5,)),
    "fresh_share": ("la part des jeux de données mis à jour dans l'année", (0.5,)),
    "schema_share": ("la part des jeux de données avec un schéma", (0.5,)),
}
CHANGES = {"created": "Nouveau jeu de données", "withdrawn": "Jeu de données retiré"}


@dataclass(frozen=True)
class Crossing:
    day: str
    indicator: str
    threshold: float
    upward: bool

    def title(self) -> str:
        name, _ = THRESHOLDS[self.indicator]
        way = "dépasse" if self.upward else "repasse sous"
        return f"{name[0].upper()}{name[1:]} {way} {round(self.threshold * 100)} %"


def crossings(series: list[tuple[str, dict[str, Any]]]) -> list[Crossing]:
    """The thresholds each indicator crossed between two consecutive days of `series` (oldest first)."""
    found = []
    for (_, before), (day, after) in pairwise(series):
        for indicator, (_, thresholds) in THRESHOLDS.items():
            old, new = before.get(indicator), after.get(indicator)
            if not isinstance(old, (int, float)) or not isinstance(new, (int, float)):
                continue
            for threshold in thresholds:
                if (old < threshold) != (new < threshold):
                    found.append(Crossing(day, indicator, threshold, upward=new >= threshold))
    return found


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    updated: datetime
    link: str
    summary: str


def atom_feed(feed_id: str, title: str, page: str, entries: list[Entry]) -> bytes:
    """An Atom 1.0 document (RFC 4287), newest entries first."""
    ET.register_namespace("", ATOM)
    ordered = sorted(entries, key=lambda e: e.updated, reverse=True)
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "fr"})
    _text(feed, "id", feed_id)
    _text(feed, "title", title)
    _text(feed, "updated", (ordered[0].updated if ordered else datetime.now(UTC)).isoformat())
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "type": "application/atom+xml", "href": feed_id})
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "alternate", "type": "text/html", "href": page})
    _text(ET.SubElement(feed, f"{{{ATOM}}}author"), "name", "Observatoire de l'open data des territoires")
    for entry in ordered:
        element = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(element, "id", entry.id)
        _text(element, "title", entry.title)
        _text(element, "updated", entry.updated.isoformat())
        ET.SubElement(element, f"{{{ATOM}}}link", {"rel": "alternate", "type": "text/html", "href": entry.link})
        _text(element, "summary", entry.summary)
    written: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return written


def _text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = text


def feed_entries(
    base: str, feed_id: str, page: str, name: str, changes: list[dict[str, Any]], crossed: list[Crossing]
) -> list[Entry]:
    """The entries of `name`'s feed: its datasets' changes, then the thresholds it crossed."""
    entries = [
        Entry(f"{base}/api/v1/feeds/entries/change/{c['id']}", f"{CHANGES[c['change']]} : {c['title']}",
              c["changed_at"], page, f"{CHANGES[c['change']]} de {name} : « {c['title']} » ({c['dataset_id']}).")
        for c in changes
    ]  # fmt: skip
    entries += [
        Entry(f"{feed_id}#{x.indicator}-{x.threshold}-{x.day}",
              f"{x.title()} ({name})", datetime.fromisoformat(x.day).replace(tzinfo=UTC), page,
              f"Le {x.day}, pour {name} : {x.title().lower()}.")
        for x in crossed
    ]  # fmt: skip
    return entries


def atom_response(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/atom+xml", charset="utf-8")


def add_feed_routes(routes: web.RouteTableDef) -> None:
    @routes.get("/api/v1/feeds/organizations/{id}.atom")
    async def organization_feed(request: web.Request) -> web.Response:
        """An organisation's new and withdrawn datasets, and the thresholds its shares crossed."""
        runtime: Runtime = request.app["runtime"]
        base = public_base(request)
        async with runtime.pool.acquire() as conn:
            found = await repository.organization_summary(conn, request.match_info["id"])
            if found is None:
                raise NotFound(f"aucune organisation avec l'identifiant {request.match_info['id']!r}")
            organization = found[0]
            changes = await feed_queries.organization_changes(conn, organization["id"])
            series = await feed_queries.daily_values(conn, "organization", organization["id"])
        page = str(URL(f"{base}/").with_query({"vue": "organisation", "organisation": organization["id"]}))
        feed_id = f"{base}/api/v1/feeds/organizations/{organization['id']}.atom"
        entries = feed_entries(base, feed_id, page, organization["name"], changes, crossings(series))
        return atom_response(atom_feed(feed_id, f"{organization['name']} : open data", page, entries))

    @routes.get("/api/v1/feeds/territories/{scope:region|departement}/{code}.atom")
    async def territory_feed(request: web.Request) -> web.Response:
        """A région's or a département's new and withdrawn datasets, and the thresholds it crossed."""
        runtime: Runtime = request.app["runtime"]
        base, scope, code = public_base(request), request.match_info["scope"], request.match_info["code"]
        async with runtime.pool.acquire() as conn:
            name = await repository.territory_name(conn, scope, code)
            if name is None:
                raise NotFound(f"aucun territoire {scope} de code {code!r}")
            changes = await feed_queries.territory_changes(conn, scope, code)
            series = await feed_queries.daily_values(conn, scope, code)
        page = str(URL(f"{base}/").with_query({"vue": "table", scope: code}))
        feed_id = f"{base}/api/v1/feeds/territories/{scope}/{code}.atom"
        entries = feed_entries(base, feed_id, page, name, changes, crossings(series))
        return atom_response(atom_feed(feed_id, f"{name} : open data", page, entries))
