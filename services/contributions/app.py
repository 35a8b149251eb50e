"""Wiring of the contributions service: registry.organizations and registry.datasets in (targets and
their current values), contributions.events out (through the outbox); the public submission API and
the moderators' API (bearer tokens)."""

from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.contributions import handlers, repository
from services.contributions.abuse import MAX_BODY_BYTES, client_hash, client_of
from services.contributions.proposals import Invalid, ProposalIn, field_label
from shared import topics
from shared.auth import authenticate
from shared.batch import subscribe_batch
from shared.events import (
    ContributionAccepted,
    ContributionRejected,
    ContributionSubmitted,
    DatasetChanged,
    OrganizationChanged,
)
from shared.http import error, http_error, read_body
from shared.kafka import declare_publisher
from shared.messaging import add_to_outbox
from shared.proxies import trusted_networks
from shared.service import Runtime
from shared.settings import Settings

SERVICE = "contributions"
SCHEMA = "contributions"
MIGRATIONS = Path(__file__).parent / "migrations"
STATUSES = ("pending", "accepted", "rejected", "spam")
MAX_PAGE_SIZE = 200


def create_runtime(settings: Settings) -> Runtime:
    runtime = Runtime(settings, SERVICE, schema=SCHEMA, migrations=MIGRATIONS)
    subscribe_batch(
        runtime,
        topics.REGISTRY_ORGANIZATIONS,
        OrganizationChanged,
        handlers.organizations_changed,
        "Keeps the organisations a contribution may target and their current values, in batches.",
    )
    subscribe_batch(
        runtime,
        topics.REGISTRY_DATASETS,
        DatasetChanged,
        handlers.datasets_changed,
        "Keeps the datasets a contribution may target and their current values, in batches.",
    )
    declare_publisher(
        runtime.broker,
        settings,
        SERVICE,
        topics.CONTRIBUTIONS_EVENTS,
        schema=ContributionSubmitted | ContributionAccepted | ContributionRejected,
        description="Proposals and moderators' decisions, keyed by the target organisation.",
    )
    return runtime


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str | None = Field(default=None, max_length=2_000)


async def read_proposal(request: web.Request, model: type[BaseModel]) -> Any:
    """The request's JSON body as `model`, refused with each field's problem in French."""

    def details(exc: ValidationError) -> list[str]:
        return [f"{' › '.join(field_label(str(part)) for part in e['loc'])} : {in_french(e)}" for e in exc.errors()]

    return await read_body(request, model, max_bytes=MAX_BODY_BYTES, invalid="proposition invalide", details=details)


MESSAGES = {
    "extra_forbidden": "champ non prévu",
    "missing": "champ requis",
    "string_too_long": "trop long (au plus {max_length} caractères)",
    "string_too_short": "trop court (au moins {min_length} caractère(s))",
    "string_type": "un texte est attendu",
    "model_type": "un objet est attendu",
    "dict_type": "un objet est attendu",
}


def in_french(error: Any) -> str:
    """pydantic's message for a contributor: in French for the errors a form can make."""
    template = MESSAGES.get(error["type"])
    return template.format(**(error.get("ctx") or {})) if template else str(error["msg"])


def _proposal_id(request: web.Request) -> UUID:
    try:
        return UUID(request.match_info["proposal_id"])
    except ValueError as exc:
        raise http_error(web.HTTPNotFound, "aucune proposition avec cette référence") from exc


def _page(request: web.Request) -> tuple[int, int]:
    try:
        page, size = int(request.query.get("page", "1")), int(request.query.get("page_size", "50"))
    except ValueError as exc:
        raise http_error(web.HTTPBadRequest, "page et page_size sont des entiers") from exc
    if not (1 <= page <= 100_000 and 1 <= size <= MAX_PAGE_SIZE):
        raise http_error(web.HTTPBadRequest, f"page ≥ 1, page_size de 1 à {MAX_PAGE_SIZE}")
    return page, size


def create_routes(settings: Settings) -> web.RouteTableDef:
    routes = web.RouteTableDef()
    trusted = trusted_networks(settings.contributions_trusted_proxies)
    window = timedelta(seconds=settings.contributions_window_seconds)

    @routes.post("/api/v1/contributions")
    async def submit(request: web.Request) -> web.Response:
        """Anyone proposes a correction; the answer's `id` is the reference to follow it."""
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            client = client_hash(await repository.client_hash_key(conn), client_of(request, trusted))
            wait = await repository.take_submission_slot(conn, client, settings.contributions_per_client, window)
        if wait:
            return error(429, "trop de propositions depuis cette adresse ; réessayer plus tard",
                         headers={"Retry-After": str(int(wait) + 1)})  # fmt: skip
        body: ProposalIn = await read_proposal(request, ProposalIn)
        async with runtime.pool.acquire() as conn, conn.transaction():
            try:
                proposal, events = await handlers.submit(conn, body, client)
            except Invalid as exc:
                return error(422, "proposition invalide", [f"{field_label(body.field)} : {exc}"])
            await add_to_outbox(conn, SCHEMA, runtime.settings, events)
        reference = {"id": str(proposal.id), "status": "pending", "follow": f"/api/v1/contributions/{proposal.id}"}
        return web.json_response(reference, status=201)

    @routes.get("/api/v1/contributions/audit")
    async def audit(request: web.Request) -> web.Response:
        """Every submission and moderation action, latest first (moderators). Registered before the
        proposal path, which would take `audit` for a reference."""
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            await authenticate(conn, request, "moderator")
            raw = request.query.get("proposal_id")
            try:
                proposal_id = UUID(raw) if raw else None
            except ValueError:
                return error(400, "proposal_id n'est pas une référence de proposition")
            entries = await repository.audit_log(conn, proposal_id, 500)
        return web.json_response({"data": entries, "total": len(entries)})

    @routes.get("/api/v1/contributions/{proposal_id}")
    async def follow(request: web.Request) -> web.Response:
        """A proposal's status, for whoever holds its reference."""
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            proposal = await repository.get_proposal(conn, _proposal_id(request))
        if proposal is None or proposal.status == "spam":
            return error(404, "aucune proposition avec cette référence")
        return web.json_response(proposal.public())

    @routes.get("/api/v1/contributions")
    async def queue(request: web.Request) -> web.Response:
        """The moderation queue (moderators): filter by status, field, organisation."""
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            await authenticate(conn, request, "moderator")  # first: nothing is said to others
            status = request.query.get("status") or None
            if status is not None and status not in STATUSES:
                return error(400, f"status : {', '.join(STATUSES)}")
            page, size = _page(request)
            proposals, total = await repository.list_proposals(
                conn, status, request.query.get("field") or None, request.query.get("organization_id") or None,
                page, size,
            )  # fmt: skip
            data = await handlers.with_current_values(conn, proposals)
        return web.json_response({"data": data, "total": total, "page": page, "page_size": size})

    @routes.post(r"/api/v1/contributions/{proposal_id}/{decision:accept|reject}")
    async def decide(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        proposal_id = _proposal_id(request)
        async with runtime.pool.acquire() as conn:
            moderator = await authenticate(conn, request, "moderator")
            body: DecisionIn = await read_proposal(request, DecisionIn)
            async with conn.transaction():
                try:
                    accept = request.match_info["decision"] == "accept"
                    proposal, events = await handlers.decide(conn, proposal_id, accept, moderator, body.comment)
                except LookupError:
                    return error(404, "aucune proposition avec cette référence")
                except handlers.Conflict as exc:
                    return error(409, f"proposition déjà traitée ({exc})")
                await add_to_outbox(conn, SCHEMA, runtime.settings, events)
        return web.json_response(proposal.public())

    return routes
