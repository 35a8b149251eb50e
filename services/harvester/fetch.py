"""HTTP adapter for harvesting: timeouts, bounded retries with exponential back-off and jitter,
Retry-After honoured (capped), a redirect limit, a size cap, and private addresses refused unless
allowed. Every failure becomes a `FetchError` with a reason an operator can read."""

import asyncio
import ipaddress
import json
import random
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

USER_AGENT = "observatoire-opendata-harvester/0.1 (+https://github.com/opendatafrance)"
RETRYABLE_STATUS = {429, 500, 502, 503, 504}


class FetchError(Exception):
    """A URL could not be fetched or parsed; `reason` says why in plain words."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{reason} ({url})")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class FetchPolicy:
    timeout_seconds: float = 30.0
    max_attempts: int = 4
    backoff_seconds: float = 0.5
    max_retry_after_seconds: float = 60.0
    max_bytes: int = 50 * 1024 * 1024
    max_redirects: int = 3
    allow_private: bool = False


class Fetcher:
    def __init__(self, session: aiohttp.ClientSession, policy: FetchPolicy) -> None:
        self.session = session
        self.policy = policy

    async def get_json(self, url: str) -> Any:
        body = await self.get_bytes(url)
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            snippet = body[:80].decode(errors="replace").strip()
            raise FetchError(
                url, f"response is not JSON: {exc.msg if hasattr(exc, 'msg') else exc}; starts with {snippet!r}"
            ) from exc

    async def get_bytes(self, url: str) -> bytes:
        await self._check_address(url)
        last_reason = "no attempt made"
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                async with self.session.get(
                    url,
                    timeout=aiohttp.ClientTimeout(total=self.policy.timeout_seconds),
                    max_redirects=self.policy.max_redirects,
                    headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                ) as response:
                    if response.status == 200:
                        return await self._read_capped(response, url)
                    last_reason = f"HTTP {response.status}"
                    if response.status not in RETRYABLE_STATUS:
                        raise FetchError(url, last_reason)
                    delay = self._retry_after(response) or self._backoff(attempt)
            except FetchError:
                raise
            except aiohttp.TooManyRedirects as exc:
                raise FetchError(url, f"more than {self.policy.max_redirects} redirects") from exc
            except (TimeoutError, aiohttp.ClientError) as exc:
                last_reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
                delay = self._backoff(attempt)
            if attempt < self.policy.max_attempts:
                await asyncio.sleep(delay)
        raise FetchError(url, f"gave up after {self.policy.max_attempts} attempts, last: {last_reason}")

    async def _read_capped(self, response: aiohttp.ClientResponse, url: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > self.policy.max_bytes:
                raise FetchError(url, f"response larger than {self.policy.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _backoff(self, attempt: int) -> float:
        return float(self.policy.backoff_seconds * 2 ** (attempt - 1) * (0.5 + random.random()))

    def _retry_after(self, response: aiohttp.ClientResponse) -> float | None:
        raw = response.headers.get("Retry-After", "")
        if not raw.strip().isdigit():
            return None
        return min(float(raw), self.policy.max_retry_after_seconds)

    async def _check_address(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "only http and https URLs can be harvested")
        if self.policy.allow_private:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                parts.hostname, parts.port or 443, type=socket.SOCK_STREAM
            )
        except socket.gaierror as exc:
            raise FetchError(url, f"host not found: {parts.hostname}") from exc
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
                raise FetchError(url, f"refused: {parts.hostname} resolves to a private address ({address})")
