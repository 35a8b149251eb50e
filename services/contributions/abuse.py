"""Limits that keep public submission open to people and closed to floods: a number of proposals
per client in a sliding window, counted in PostgreSQL (repository.take_submission_slot) so that
every instance shares it, and a body size cap. A client is its address: the address of the
connection, or the one a trusted proxy (the api, a reverse proxy in front of it) says it forwards
for; nobody else's X-Forwarded-For is read."""

import hashlib
import hmac
from collections.abc import Iterable

from aiohttp import web

from shared.proxies import Network, client_address

MAX_BODY_BYTES = 16 * 1024


def client_of(request: web.Request, trusted: Iterable[Network]) -> str:
    return client_address(request.remote, request.headers.get("X-Forwarded-For", ""), trusted)


def client_hash(key: str, client: str) -> str:
    """A keyed hash of the client's address: counts a client's proposals, cannot name it."""
    return hmac.new(key.encode(), client.encode(), hashlib.sha256).hexdigest()[:16]
