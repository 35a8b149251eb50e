"""Limits that keep public submission open to people and closed to floods: a number of proposals
per client in a sliding window, and a body size cap. Counted in this process: one contributions
instance serves the public paths (docker-compose runs one); several would each allow the limit."""

import time
from collections import OrderedDict, deque

from aiohttp import web

MAX_BODY_BYTES = 16 * 1024
MAX_CLIENTS_TRACKED = 100_000


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str, now: float | None = None) -> float:
        """0 when the client may submit now (and count it), else the seconds to wait."""
        now = time.monotonic() if now is None else now
        times = self._seen.pop(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        self._seen[client] = times  # most recently seen last; the oldest clients are forgotten first
        while len(self._seen) > MAX_CLIENTS_TRACKED:
            self._seen.popitem(last=False)
        if len(times) >= self.limit:
            return times[0] + self.window - now
        times.append(now)
        return 0.0


def client_of(request: web.Request) -> str:
    """The client's address: the api forwards the public paths and says whom for (it overwrites any
    X-Forwarded-For the client sent); direct callers are known by their own address."""
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
    return forwarded or request.remote or "unknown"
