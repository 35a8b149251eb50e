"""What the services' HTTP routes share: one error body, and one way to read a JSON request body.

Every error answers `{"error": {"status", "message", "details"?}}`, in French (the public reads it).
A body is refused with 413 over `max_bytes` (read no further), 400 when it is not JSON, 422 when the
model refuses it, each with that body."""

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

MAX_BODY_BYTES = 1024 * 1024  # aiohttp's own limit of a request body


def error(status: int, message: str, details: Any = None, headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"error": {"status": status, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return web.json_response(body, status=status, headers=headers)


def http_error(exception: type[web.HTTPError], message: str, details: Any = None) -> web.HTTPError:
    """The exception to raise for an error answer from inside a helper (aiohttp answers it as is)."""
    return exception(text=error(exception.status_code, message, details).text, content_type="application/json")


def too_large(max_bytes: int, size: int) -> web.HTTPRequestEntityTooLarge:
    text = error(413, f"corps de requête trop volumineux (au plus {max_bytes} octets)").text
    return web.HTTPRequestEntityTooLarge(max_bytes, size, text=text, content_type="application/json")


def validation_messages(exc: ValidationError) -> list[str]:
    return [e["msg"] for e in exc.errors()]


async def read_body(
    request: web.Request,
    model: type[BaseModel],
    *,
    max_bytes: int = MAX_BODY_BYTES,
    invalid: str = "requête invalide",
    details: Callable[[ValidationError], list[str]] = validation_messages,
) -> Any:
    """The request's JSON body as `model`; an HTTP error answer (raised) when it cannot be."""
    if (request.content_length or 0) > max_bytes:
        raise too_large(max_bytes, request.content_length or 0)
    raw = await request.content.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise too_large(max_bytes, len(raw))
    try:
        return model.model_validate(json.loads(raw or b"{}"))
    except ValidationError as exc:
        raise http_error(web.HTTPUnprocessableEntity, invalid, details(exc)) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise http_error(web.HTTPBadRequest, "le corps doit être un objet JSON") from exc
