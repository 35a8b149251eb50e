"""What other sites embed, as Datami's widgets are: an organisation's or a territory's card (a small
page for an iframe, its style from this site, no script, no request elsewhere: a strict
Content-Security-Policy says so) and an SVG badge ("12 jeux de données ouverts").

The pages are written here from the read models' numbers (`card_html`, `badge_svg`: pure); every text
is escaped."""

from html import escape
from typing import Any

from aiohttp import web
from yarl import URL

from services.api import repository
from services.api.open_data import public_base
from services.api.params import NotFound
from shared.service import Runtime
from shared.tables import TYPE_LABELS

# No script, nothing from elsewhere; any site may frame the card.
EMBED_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors *"
)
TERRITORIES = {"region": "région", "departement": "département"}
SHARES = (
    ("open_format_share", "en format ouvert"),
    ("open_licence_share", "sous licence ouverte"),
    ("fresh_share", "mis à jour dans l'année"),
)
CARD_CSS = """
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
body { margin: 0; }
.carte { box-sizing: border-box; max-width: 26rem; padding: 1rem 1.25rem; border: 1px solid #c9ccd1;
  border-radius: .5rem; background: #fff; color: #161616; }
.carte h1 { font-size: 1.15rem; margin: 0 0 .25rem; }
.carte .nature { margin: 0 0 .75rem; color: #3a3a3a; font-size: .9rem; }
.carte .chiffre { margin: 0 0 .75rem; font-size: 1rem; }
.carte .chiffre strong { font-size: 1.6rem; color: #000091; }
.carte dl { display: grid; grid-template-columns: auto 1fr; gap: .2rem .75rem; margin: 0 0 .75rem; font-size: .9rem; }
.carte dt { font-weight: 600; }
.carte dd { margin: 0; }
.carte .source { margin: 0; font-size: .8rem; color: #3a3a3a; }
.carte a { color: #000091; }
"""


def number(value: Any) -> str:
    """12 345, as French writes it."""
    return f"{int(value):,}".replace(",", "\u202f") if isinstance(value, (int, float)) else "–"


def percent(value: Any) -> str:
    return f"{round(value * 100)} %" if isinstance(value, (int, float)) else "–"


def card_html(title: str, nature: str, lead: tuple[Any, str], facts: list[tuple[str, str]], link: str) -> str:
    """A card: a title, what it is, one number that leads, facts as a list, a link to the Observatoire."""
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} – Observatoire de l'open data des territoires</title>"
        '<link rel="stylesheet" href="/embed/carte.css"></head><body><main class="carte">'
        f'<h1>{escape(title)}</h1><p class="nature">{escape(nature)}</p>'
        f'<p class="chiffre"><strong>{escape(number(lead[0]))}</strong> {escape(lead[1])}</p>'
        f"<dl>{rows}</dl>"
        f'<p class="source"><a href="{escape(link)}" target="_blank" rel="noopener">Voir sur l\'Observatoire de '
        "l'open data des territoires</a> · données sous Licence Ouverte 2.0</p></main></body></html>"
    )


def organization_card(organization: dict[str, Any], values: dict[str, Any], base: str) -> str:
    nature = TYPE_LABELS.get(organization["type"] or "", "Organisation")
    if organization["population"]:
        nature += f" · {number(organization['population'])} habitants"
    facts = [(f"Jeux de données {label}", percent(values.get(name))) for name, label in SHARES]
    facts.append(("Portails", number(values.get("platforms", 0))))
    link = str(URL(f"{base}/").with_query({"vue": "organisation", "organisation": organization["id"]}))
    datasets = organization["datasets"]
    return card_html(organization["name"], nature, (datasets, datasets_label(datasets)), facts, link)


def territory_card(name: str, scope: str, code: str, values: dict[str, Any], base: str) -> str:
    facts = [
        ("Organisations qui publient", f"{number(values.get('organizations_publishing'))} sur "
                                       f"{number(values.get('organizations'))}"),
        ("Taux d'ouverture", percent(values.get("opening_rate"))),
        *((f"Jeux de données {label}", percent(values.get(key))) for key, label in SHARES),
    ]  # fmt: skip
    link = str(URL(f"{base}/").with_query({"vue": "table", scope: code}))
    datasets = values.get("datasets") or 0
    nature = f"{TERRITORIES[scope].capitalize()} · code {code}"
    return card_html(name, nature, (datasets, datasets_label(datasets)), facts, link)


def datasets_label(count: Any) -> str:
    return "jeu de données ouvert" if count in (0, 1) else "jeux de données ouverts"


def badge_svg(count: int) -> str:
    """A shields-like badge: "open data | N jeux de données ouverts", widths from the text's length."""
    label, value = "open data", f"{number(count)} {datasets_label(count)}"
    left, right = 8 + 7 * len(label), 8 + 7 * len(value)
    width = left + right
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{escape(label)} : {escape(value)}"><title>{escape(label)} : {escape(value)}</title>'
        f'<rect width="{left}" height="20" fill="#3a3a3a"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="#000091"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2}" y="14" text-anchor="middle">{escape(label)}</text>'
        f'<text x="{left + right / 2}" y="14" text-anchor="middle">{escape(value)}</text></g></svg>'
    )


def embedded(body: str, content_type: str) -> web.Response:
    return web.Response(
        text=body, content_type=content_type, charset="utf-8",
        headers={"Content-Security-Policy": EMBED_POLICY, "Cache-Control": "public, max-age=300"},
    )  # fmt: skip


def add_embed_routes(routes: web.RouteTableDef) -> None:
    @routes.get("/embed/carte.css")
    async def card_style(request: web.Request) -> web.Response:
        return web.Response(text=CARD_CSS, content_type="text/css", headers={"Cache-Control": "public, max-age=3600"})

    @routes.get("/embed/organisations/{id}")
    async def organization_embed(request: web.Request) -> web.Response:
        """An organisation's card, for an iframe."""
        organization, values = await _organization(request)
        return embedded(organization_card(organization, values, public_base(request)), "text/html")

    @routes.get("/embed/territoires/{scope:region|departement}/{code}")
    async def territory_embed(request: web.Request) -> web.Response:
        """A région's or a département's card, for an iframe."""
        runtime: Runtime = request.app["runtime"]
        scope, code = request.match_info["scope"], request.match_info["code"]
        async with runtime.pool.acquire() as conn:
            name = await repository.territory_name(conn, scope, code)
            rows = await repository.current_indicators(conn, scope, code) if name else []
        if not name:
            raise NotFound(f"aucun {TERRITORIES[scope]} de code {code!r}")
        values = rows[0]["values"] if rows else {}
        return embedded(territory_card(name, scope, code, values, public_base(request)), "text/html")

    @routes.get("/embed/organisations/{id}/badge.svg")
    async def organization_badge(request: web.Request) -> web.Response:
        """An organisation's badge: how many open datasets it publishes."""
        organization, _ = await _organization(request)
        return embedded(badge_svg(organization["datasets"]), "image/svg+xml")


async def _organization(request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
    runtime: Runtime = request.app["runtime"]
    async with runtime.pool.acquire() as conn:
        found = await repository.organization_summary(conn, request.match_info["id"])
    if found is None:
        raise NotFound(f"aucune organisation avec l'identifiant {request.match_info['id']!r}")
    return found
