"""The harvesting HTTP client against small local servers."""

import asyncio
import ipaddress
import socket
import time

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from services.harvester.fetch import (
    Fetcher,
    FetchError,
    FetchPolicy,
    HostLimits,
    check_address,
    harvest_session,
    parse_json,
    refused,
)

POLICY = FetchPolicy(allow_private=True, backoff_seconds=0.01, max_attempts=3, max_redirects=2)


async def serve(routes: list[web.RouteDef], policy: FetchPolicy = POLICY):
    app = web.Application()
    app.add_routes(routes)
    server = TestServer(app)
    await server.start_server()
    session = aiohttp.ClientSession()
    return server, session, Fetcher(session, policy)


async def test_redirects_are_followed_up_to_the_limit():
    async def hop(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n == 0:
            return web.json_response({"ok": True})
        raise web.HTTPFound(f"/hop/{n - 1}")

    server, session, fetcher = await serve([web.get("/hop/{n}", hop)])
    try:
        assert await fetcher.get_json(str(server.make_url("/hop/2"))) == {"ok": True}
        with pytest.raises(FetchError, match="more than 2 redirects"):
            await fetcher.get_json(str(server.make_url("/hop/3")))
    finally:
        await session.close()
        await server.close()


async def test_a_cut_body_is_fetched_again_and_too_large_a_body_is_refused():
    calls = []

    async def cut(request: web.Request) -> web.StreamResponse:
        calls.append(1)
        body = b'{"data": [1, 2, 3]}'
        if len(calls) == 1:
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.content_length = len(body)
            await response.prepare(request)
            await response.write(body[:5])
            request.transport.close()
            return response
        return web.Response(body=body, content_type="application/json")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 2048)

    server, session, fetcher = await serve(
        [web.get("/cut", cut), web.get("/big", big)],
        FetchPolicy(allow_private=True, backoff_seconds=0.01, max_bytes=1024),
    )
    try:
        assert await fetcher.get_json(str(server.make_url("/cut"))) == {"data": [1, 2, 3]}
        assert len(calls) == 2
        with pytest.raises(FetchError, match="larger than 1024"):
            await fetcher.get_document(str(server.make_url("/big")))
    finally:
        await session.close()
        await server.close()


async def test_client_errors_are_not_retried_and_server_errors_are():
    calls: dict[str, int] = {"404": 0, "503": 0}

    async def status(request: web.Request) -> web.Response:
        code = request.match_info["code"]
        calls[code] += 1
        return web.Response(status=int(code), text="nope")

    server, session, fetcher = await serve([web.get("/{code}", status)])
    try:
        with pytest.raises(FetchError, match="HTTP 404"):
            await fetcher.get_json(str(server.make_url("/404")))
        with pytest.raises(FetchError, match="gave up after 3 attempts, last: HTTP 503"):
            await fetcher.get_json(str(server.make_url("/503")))
        assert calls == {"404": 1, "503": 3}
    finally:
        await session.close()
        await server.close()


async def test_requests_to_one_host_are_paced():
    limits = HostLimits(FetchPolicy(per_host_interval_seconds=0.05))
    started = time.monotonic()
    await asyncio.gather(*(limits.pace("portal.example") for _ in range(5)))
    assert time.monotonic() - started >= 0.19
    started = time.monotonic()
    await limits.pace("other.example")
    assert time.monotonic() - started < 0.05


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8090/udata", "http://10.1.2.3/", "http://[::1]/", "http://169.254.169.254/latest"]
)
async def test_private_and_loopback_sources_are_refused_unless_allowed(url):
    with pytest.raises(FetchError, match="private address"):
        await check_address(url, allow_private=False)
    await check_address(url, allow_private=True)


async def test_only_http_sources_are_harvested():
    for url in ("ftp://portal.example/catalog", "file:///etc/passwd", "not a url"):
        with pytest.raises(FetchError, match="only http and https"):
            await check_address(url, allow_private=True)


UTF_8 = '{"titre": "été"}'.encode()


@pytest.mark.parametrize("body", [UTF_8, b"\xef\xbb\xbf" + UTF_8, '{"titre": "été"}'.encode("utf-16")])
def test_json_is_read_in_utf_8_with_or_without_a_byte_order_mark_and_in_utf_16(body):
    assert parse_json(body) == {"titre": "été"}


@pytest.mark.parametrize("body", [b"<html>erreur</html>", b'{"data": [1, 2', b"\xff\xfe\xfd"])
def test_what_is_not_json_raises_a_value_error(body):
    with pytest.raises(ValueError):
        parse_json(body)


class Rebinding(aiohttp.abc.AbstractResolver):
    """A name that answers a public address to the first lookup and loopback to every later one."""

    def __init__(self) -> None:
        self.lookups = 0

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list:
        self.lookups += 1
        address = "93.184.216.34" if self.lookups == 1 else "127.0.0.1"
        return [{"hostname": host, "host": address, "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        return None


async def test_a_name_that_rebinds_to_loopback_after_the_check_is_never_connected_to():
    reached: list[str] = []

    async def secret(request: web.Request) -> web.Response:
        reached.append(request.path)
        return web.json_response({"secret": True})

    app = web.Application()
    app.add_routes([web.get("/secret", secret)])
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    policy = FetchPolicy(allow_private=False, backoff_seconds=0.01, max_attempts=2)
    resolver = Rebinding()
    try:
        async with harvest_session(policy, resolver) as session:
            fetcher = Fetcher(session, policy, resolver=resolver)
            with pytest.raises(FetchError, match=r"private address \(127\.0\.0\.1\)"):
                await fetcher.get_json(f"http://portal.example:{server.port}/secret")
    finally:
        await server.close()
    assert reached == [] and resolver.lookups == 2  # checked, then resolved once to connect: refused


@pytest.mark.parametrize(
    "address",
    ["100.64.0.1", "[::ffff:127.0.0.1]", "[fe80::1]", "[fc00::1]", "0.0.0.0", "224.0.0.1", "192.0.2.1", "[::]"],
)
async def test_every_address_that_is_not_global_is_refused(address):
    with pytest.raises(FetchError, match="private address"):
        await check_address(f"http://{address}/catalog", allow_private=False)
    assert not refused(ipaddress.ip_address("93.184.216.34"))
