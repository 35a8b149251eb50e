"""The public API's query parameters, read and checked: pages, keyset tokens, sorts, filters.
A bad value is refused with `BadRequest` (a 400 answer in French, app.json_errors) before any query."""

import base64
import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web

from services.api import repository, selections
from services.api.selections import SORTS, DatasetFilter, OrganizationFilter
from shared.population import NO_POPULATION, POPULATION_BINS
from shared.service import Runtime
from shared.vocabulary import ORGANIZATION_TYPES, PORTAL_FAMILIES

MAX_PAGE_SIZE = 200


POPULATION_BIN_LABELS = (NO_POPULATION, *(label for label, _ in POPULATION_BINS))


class BadRequest(Exception):
    pass


class NotFound(Exception):
    """What the request names does not exist (a 404 answer saying what)."""


async def organization_of(conn: asyncpg.Connection, request: web.Request) -> str:
    """The registry id of the organisation the path names (any id, SIREN or alias)."""
    requested = request.match_info["id"]
    return await _resolved(conn, requested, NotFound(f"aucune organisation avec l'identifiant {requested!r}"))


async def _resolved(conn: asyncpg.Connection, requested: str, unknown: Exception) -> str:
    """The registry id of an organisation by any id it is known by (SIREN, alias); raises `unknown`."""
    resolved = await repository.resolve_id(conn, requested)
    if resolved is None:
        raise unknown
    return resolved


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise BadRequest(f"{name} doit être un entier entre {low} et {high}")
    return int(raw)


def bool_param(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in ("true", "false", "1", "0"):
        raise BadRequest(f"{name} doit valoir true ou false")
    return raw.lower() in ("true", "1")


def page_params(request: web.Request) -> tuple[int, int]:
    return int_param(request, "page", 1, 1, 1_000_000), int_param(request, "page_size", 50, 1, MAX_PAGE_SIZE)


def after_token(sort: str, keys: list[Any]) -> str:
    """The opaque `after` of the page that follows a row: its sort and its sort keys."""
    return base64.urlsafe_b64encode(json.dumps([sort, keys], separators=(",", ":")).encode()).decode().rstrip("=")


def after_keys(request: web.Request, sort: str, keys: tuple[selections.SortKey, ...]) -> list[Any] | None:
    """The values of `keys` an `after` token holds, for a page that continues from its row (keyset)."""
    token = request.query.get("after")
    if not token:
        return None
    if sort == "relevance" and request.query.get("q"):
        raise BadRequest("after ne s'emploie pas avec le tri par pertinence : choisir un autre tri (sort)")
    try:
        token_sort, values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        raise BadRequest("after : jeton illisible (prendre next_after d'une page)") from None
    if token_sort != sort or not isinstance(values, list) or len(values) != len(keys):
        raise BadRequest("after : ce jeton vient d'une page d'un autre tri")
    if not all(key.holds(value) for key, value in zip(keys, values, strict=True)):
        raise BadRequest("after : jeton illisible (prendre next_after d'une page)")
    return values


def sort_param(request: web.Request) -> str:
    # A search is ranked by relevance unless another order is asked for.
    sort = request.query.get("sort") or ("relevance" if request.query.get("q") else "name")
    if sort not in SORTS:
        raise BadRequest(f"tri inconnu : {sort} (tris : {', '.join(SORTS)})")
    return sort


def organization_filter(request: web.Request) -> OrganizationFilter:
    types = tuple(t for t in request.query.get("type", "").upper().split(",") if t)
    unknown = [t for t in types if t not in ORGANIZATION_TYPES]
    if unknown:
        raise BadRequest(f"type inconnu : {', '.join(unknown)} (types : {', '.join(ORGANIZATION_TYPES)})")
    return OrganizationFilter(
        q=request.query.get("q") or None,
        types=types,
        region=request.query.get("region") or None,
        departement=request.query.get("departement") or None,
        obligated=bool_param(request, "obligated"),
        publishes=bool_param(request, "publishes"),
        technology=choice_param(request, "technology", PORTAL_FAMILIES),
        population_bin=choice_param(request, "population_bin", POPULATION_BIN_LABELS),
    )


def choice_param(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name) or None
    if value is not None and value not in allowed:
        raise BadRequest(f"{name} inconnu : {value} (valeurs : {', '.join(allowed)})")
    return value


def text_param(request: web.Request, name: str, limit: int = 200) -> str | None:
    value = request.query.get(name) or None
    if value is not None and len(value) > limit:
        raise BadRequest(f"{name} : {limit} caractères au plus")
    return value


async def organization_param(conn: asyncpg.Connection, request: web.Request) -> str | None:
    """The registry id of the `organization` parameter (any id, SIREN or alias), if one is given."""
    organization = request.query.get("organization")
    if not organization:
        return None
    return await _resolved(
        conn, organization, BadRequest(f"organization : aucune organisation avec l'identifiant {organization!r}")
    )


def dataset_filter(request: web.Request, organization: str | None) -> DatasetFilter:
    since = request.query.get("modified_since") or None
    try:
        modified_since = datetime.fromisoformat(since) if since else None
    except ValueError:
        raise BadRequest("modified_since doit être une date ISO 8601 (AAAA-MM-JJ)") from None
    if modified_since is not None and modified_since.tzinfo is None:
        modified_since = modified_since.replace(tzinfo=UTC)
    return DatasetFilter(
        organization=organization,
        format=(text_param(request, "format", 40) or "").lower() or None,
        licence=text_param(request, "licence", 80),
        schema=text_param(request, "schema"),
        q=text_param(request, "q"),
        modified_since=modified_since,
        withdrawn=bool(bool_param(request, "withdrawn")),
    )


def refuse_unstorable(request: web.Request) -> None:
    """Text PostgreSQL cannot take (NUL, lone surrogates) is refused before any query, rather than
    failing inside one (or inside a download already streaming)."""
    for name, value in [("chemin", request.path), *request.query.items()]:
        if "\x00" in value:
            raise BadRequest(f"{name} : caractère NUL refusé")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest(f"{name} : texte UTF-8 invalide") from None


SCOPES = ("national", "region", "departement", "type", "organization", "platform")


async def scope_indicators(request: web.Request) -> tuple[str, str | None, list[dict[str, Any]]]:
    """The scope the request names (`scope`, `id`) and its current indicators."""
    runtime: Runtime = request.app["runtime"]
    scope, scope_id = scope_param(request)
    async with runtime.pool.acquire() as conn:
        return scope, scope_id, await repository.current_indicators(conn, scope, scope_id)


def scope_param(request: web.Request) -> tuple[str, str | None]:
    scope = request.query.get("scope", "national")
    if scope not in SCOPES:
        raise BadRequest(f"portée inconnue : {scope} (portées : {', '.join(SCOPES)})")
    scope_id = "FR" if scope == "national" else text_param(request, "id", 2000 if scope == "platform" else 64)
    return scope, scope_id
