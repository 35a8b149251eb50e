"""HTTP caching of the public API's GET answers.

Every answer carries a strong ETag (a 304 when the client already has it) and a Cache-Control; over
1 kB it is gzip-compressed for clients that accept it. Identical requests within MICRO_CACHE_SECONDS
share one computation (the front page's list is the same for every visitor): the body, its ETag and
its compressed form are kept, so a burst costs one query and one compression. When an answer is
older than that, one request computes it again while the others get the previous one (never more
than one computation per answer at a time). Data stays live within a few seconds. Streamed exports
and forwarded paths are left alone.

The map's answers (every commune: the heaviest query and body) are also served stale while they are
computed again: a request that finds one older than the micro-cache but younger than
STALE_SECONDS gets it at once and starts its computation in the background, so a visitor never waits
for the query; the next visitor gets the new answer. Older than that, the request waits for it.
"""

import asyncio
import gzip
import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

CACHE_SECONDS = 10  # what clients and proxies may reuse before revalidating
MICRO_CACHE_SECONDS = 2.0
MICRO_CACHE_ENTRIES = 2_000
COMPRESS_FROM = 1024
# nginx's default: a page of 50 datasets (60 kB) in 270 µs to 11.8 kB, where level 5 takes 610 µs for
# 9.7 kB, more than the page's queries (bench/README.md).
GZIP_LEVEL = 1
STALE_PATHS = ("/api/v1/map/",)
STALE_SECONDS = 30.0


@dataclass(frozen=True)
class Cached:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str
    stored_at: float


class MicroCache:
    def __init__(self, seconds: float = MICRO_CACHE_SECONDS, entries: int = MICRO_CACHE_ENTRIES) -> None:
        self.seconds = seconds
        self.entries = entries
        self._items: OrderedDict[str, Cached] = OrderedDict()

    def get(self, key: str) -> Cached | None:
        """The kept answer, however old (see `fresh`)."""
        return self._items.get(key)

    def fresh(self, item: Cached) -> bool:
        return time.monotonic() - item.stored_at <= self.seconds

    @staticmethod
    def servable_stale(path: str, item: Cached) -> bool:
        return may_be_stale(path) and time.monotonic() - item.stored_at <= STALE_SECONDS

    def put(self, key: str, response: web.Response) -> Cached:
        body = response.body if isinstance(response.body, bytes) else b""
        item = Cached(
            body=body,
            gzipped=gzip.compress(body, compresslevel=GZIP_LEVEL) if len(body) > COMPRESS_FROM else None,
            content_type=response.content_type,
            etag='"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"',
            stored_at=time.monotonic(),
        )
        self._items[key] = item
        self._items.move_to_end(key)
        while len(self._items) > self.entries:
            self._items.popitem(last=False)
        return item


def may_be_stale(path: str) -> bool:
    """Whether this path's answers are served stale while they are computed again."""
    return path.startswith(STALE_PATHS)


def cacheable(request: web.Request, forwarded: tuple[str, ...]) -> bool:
    """Public answers only: a request with a token may get more than the public (an operator's
    operations page), so it is neither answered from the cache nor put in it."""
    return (
        request.method in ("GET", "HEAD")
        and "Authorization" not in request.headers
        and request.path.startswith("/api/")
        and not (request.path.startswith(forwarded) or request.path.startswith("/api/v1/exports/"))
        and request.path not in NEGOTIATED
    )


NEGOTIATED = {"/api/v1/catalog"}  # one URL, an answer for each Accept header: kept out of the cache


def cache_key(request: web.Request) -> str:
    """The answer's key: its address with the host it was asked of, since answers that name the
    Observatoire's own addresses (the catalogue, the feeds) write them from the request's host when
    OBS_PUBLIC_URL is not set; one host's answer is never served to another's."""
    return f"{request.host}{request.path_qs}"


def answer(request: web.Request, item: Cached, hit: bool) -> web.Response:
    """The cached answer; `X-Cache` says whether it was computed for this request (miss) or not (hit),
    so that a benchmark can tell the work from the cache."""
    control = f"public, max-age={CACHE_SECONDS}, " + (
        f"stale-while-revalidate={STALE_SECONDS:.0f}" if may_be_stale(request.path) else "must-revalidate"
    )
    headers = {
        "ETag": item.etag,
        "Cache-Control": control,
        "Vary": "Accept-Encoding",
        "X-Cache": "hit" if hit else "miss",
    }
    if item.etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        return web.Response(status=304, headers=headers)
    if item.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
        return web.Response(body=item.gzipped, content_type=item.content_type,
                            headers={**headers, "Content-Encoding": "gzip"})  # fmt: skip
    return web.Response(body=item.body, content_type=item.content_type, headers=headers)


def http_caching(forwarded: tuple[str, ...], cache: MicroCache | None = None) -> Any:
    cache = cache if cache is not None else MicroCache()
    computing: dict[str, asyncio.Future[Cached | web.StreamResponse]] = {}
    background: set[asyncio.Task[Any]] = set()  # stale answers being computed again (kept referenced)

    def begin(key: str) -> asyncio.Future[Cached | web.StreamResponse]:
        """Mark the answer as being computed, at once (before any await: one computation at a time)."""
        computing[key] = asyncio.get_running_loop().create_future()
        return computing[key]

    async def compute(
        request: web.Request, handler: Any, future: asyncio.Future[Cached | web.StreamResponse]
    ) -> Cached | web.StreamResponse:
        key = cache_key(request)
        try:
            response: web.StreamResponse = await handler(request)
            result: Cached | web.StreamResponse = response
            if type(response) is web.Response and response.status == 200:
                result = cache.put(key, response)
            future.set_result(result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiting requests re-raise it, nobody else must
            raise
        finally:
            computing.pop(key, None)

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if not cacheable(request, forwarded):
            return await handler(request)  # type: ignore[no-any-return]
        key = cache_key(request)
        item = cache.get(key)
        if item is not None and (cache.fresh(item) or key in computing):
            return answer(request, item, hit=True)
        if item is not None and cache.servable_stale(request.path, item):
            task = asyncio.create_task(compute(request, handler, begin(key)))
            background.add(task)
            task.add_done_callback(_forget(background))
            return answer(request, item, hit=True)
        if key in computing:
            result = await asyncio.shield(computing[key])
            if isinstance(result, Cached):
                return answer(request, result, hit=True)  # computed for another request
        result = await compute(request, handler, begin(key))
        return answer(request, result, hit=False) if isinstance(result, Cached) else result

    return middleware


def _forget(tasks: set[asyncio.Task[Any]]) -> Any:
    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("a stale answer could not be computed again: %s", exc)  # the next request retries

    return done
