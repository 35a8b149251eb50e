"""The udata backend against the simulated udata portal and real payloads, over real HTTP on loopback
(no Kafka); the audience counters of the OpenDataSoft family beside udata's."""

from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from services.harvester.backends import backend_for
from services.harvester.backends.base import HarvestAborted, RunContext
from services.harvester.backends.udata import UdataBackend
from services.harvester.fetch import Fetcher, FetchError, FetchPolicy
from services.harvester.repository import Source
from shared.events import ReuseDiscovered
from shared.identifiers import siren_from, with_luhn_digit
from simulated_portals.app import build_app
from simulated_portals.catalogue import PortalSpec, Publisher, World, dataset, reuses

POLICY = FetchPolicy(allow_private=True, backoff_seconds=0.01, max_attempts=3)
PORTAL = PortalSpec(
    family="udata",
    slug="unit",
    size=260,
    seed=1,
    publishers=(
        Publisher("Ville de Rennes", with_luhn_digit("21350238") + "00012", "a" * 24),
        Publisher("Sans SIRET", None, "b" * 24),
    ),
)


async def collect(app: web.Application, path: str = PORTAL.path) -> list:
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        source = Source(id="s", url=str(server.make_url(path)), family="udata", name="test")
        backend = UdataBackend(Fetcher(session, POLICY), source, RunContext(run_id="r", mode="full"))
        return [item async for item in backend.items()]


async def test_every_dataset_is_mapped_across_pages_with_its_publisher_siren():
    items = await collect(build_app(World([PORTAL])))
    assert [i.remote_id for i in items] == [dataset(PORTAL, n).id for n in range(PORTAL.size)]  # 3 pages of 100
    assert all(i.error is None for i in items)
    first, source = items[0].event, dataset(PORTAL, 0)
    assert first.title == source.title.strip()
    assert first.publisher.siren == siren_from(source.publisher.siret)
    assert first.created == source.created and first.modified == source.modified
    assert {i.event.publisher.siren for i in items[1::2]} == {None}
    assert len({i.event.content_hash for i in items}) == len(items)


async def test_the_content_hash_does_not_depend_on_the_run():
    async with TestServer(build_app(World([PORTAL]))) as server, aiohttp.ClientSession() as session:
        source = Source(id="s", url=str(server.make_url(PORTAL.path)), family="udata", name="test")
        hashes = []
        for run_id in ("run-1", "run-2"):
            backend = UdataBackend(Fetcher(session, POLICY), source, RunContext(run_id=run_id, mode="full"))
            hashes.append([item.event.content_hash async for item in backend.items()])
    assert hashes[0] == hashes[1]
    assert len(set(hashes[0])) == PORTAL.size


def quirky_app(handler) -> web.Application:
    app = web.Application()
    app.router.add_get("/udata/unit/api/1/datasets/", handler)
    return app


async def test_a_page_that_repeats_forever_aborts_the_run():
    async def endless(request: web.Request) -> web.Response:
        page = int(request.query.get("page", 1))
        return web.json_response(
            {
                "data": [{"id": "same", "title": "t", "resources": []}],
                "page": page,
                "next_page": str(request.url.update_query(page=page + 1)),
            }
        )

    with pytest.raises(HarvestAborted, match="repeats"):
        await collect(quirky_app(endless))


async def test_an_html_error_page_is_a_clear_failure():
    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Maintenance</body></html>", content_type="text/html")

    with pytest.raises(HarvestAborted, match="not JSON"):
        await collect(quirky_app(html))


async def test_rate_limits_are_retried_after_the_delay_the_portal_asks():
    calls = []

    async def limited(request: web.Request) -> web.Response:
        calls.append(request)
        if len(calls) == 1:
            return web.json_response({"message": "Too many requests"}, status=429, headers={"Retry-After": "0"})
        return web.json_response({"data": [], "next_page": None})

    assert await collect(quirky_app(limited)) == []
    assert len(calls) == 2


async def test_private_addresses_are_refused_unless_allowed():
    async with aiohttp.ClientSession() as session:
        fetcher = Fetcher(session, FetchPolicy(allow_private=False))
        with pytest.raises(FetchError, match="private address"):
            await fetcher.get_json("http://127.0.0.1:1/api/1/datasets/")


async def test_the_site_export_gives_every_dataset_with_its_origin_and_publisher_siren():
    from simulated_portals.catalogue import build_world

    world = build_world(portals=5, datasets_per_portal=30, seed=3, referentiel=None)
    datagouv = world.portal("udata", "datagouv")
    async with TestServer(build_app(world)) as server, aiohttp.ClientSession() as session:
        url = str(server.make_url(f"{datagouv.path}/api/1/site/datasets.csv"))
        backend = UdataBackend(
            Fetcher(session, POLICY),
            Source(id="s", url=url, family="udata", name="csv"),
            RunContext(run_id="r", mode="full"),
        )
        items = [item async for item in backend.items()]
    assert len(items) == world.total_datasets(datagouv) and all(i.event for i in items)
    assert sum(1 for i in items if i.event.upstream) == len(world.mirrors) > 0
    siret_of = {p.remote_id: p.siret for spec in world.portals for p in spec.publishers}
    assert all(i.event.publisher.siren == siren_from(siret_of[i.event.publisher.remote_id]) for i in items)
    assert any(i.event.publisher.siren for i in items)


async def test_the_site_export_gives_each_dataset_its_files_from_resources_csv():
    """The same datasets read from the API and from the exports have the same files, formats and schemas."""
    from simulated_portals.catalogue import build_world

    world = build_world(portals=3, datasets_per_portal=20, seed=5, referentiel=None)
    datagouv = world.portal("udata", "datagouv")
    async with TestServer(build_app(world)) as server, aiohttp.ClientSession() as session:
        runs = {}
        for kind, path in (("api", datagouv.path), ("export", f"{datagouv.path}/api/1/site/datasets.csv")):
            source = Source(id="s", url=str(server.make_url(path)), family="udata", name=kind)
            backend = UdataBackend(Fetcher(session, POLICY), source, RunContext(run_id="r", mode="full"))
            runs[kind] = {i.remote_id: i.event.resources async for i in backend.items()}
    assert runs["export"] == runs["api"]
    assert sum(len(files) for files in runs["export"].values()) > len(runs["export"])
    assert any(file.schema for files in runs["export"].values() for file in files)


async def test_a_user_s_dataset_is_published_by_the_user_and_a_file_s_format_falls_back_on_its_mime():
    """udata gives `owner` (a user: first and last name, slug) when no organisation publishes, and
    `format: null` beside a `mime` for some files."""
    page = {
        "data": [
            {
                "id": "6abe87adf25c54149efb608e",
                "title": "Niveaux de remplissage",
                "organization": None,
                "owner": {"first_name": "Jeanne", "last_name": "Martin", "slug": "jeanne-martin"},
                "resources": [{"url": "https://files.test/a?x=1&region=2", "format": None, "mime": "text/csv"}],
            }
        ],
        "next_page": None,
    }

    async def datasets(request: web.Request) -> web.Response:
        return web.json_response(page)

    app = web.Application()
    app.router.add_get("/portal/api/1/datasets/", datasets)
    [item] = await collect(app, "/portal")
    assert item.event.publisher.name == "Jeanne Martin"
    assert [(r.url, r.format) for r in item.event.resources] == [("https://files.test/a?x=1&region=2", "csv")]


# --- reuses ------------------------------------------------------------------------------------

REAL = Path(__file__).resolve().parents[1] / "data/real/udata"


def answering(response: web.Response):
    async def handler(_: web.Request) -> web.Response:
        return response

    return handler


async def test_the_real_reuse_export_gives_each_reuse_with_its_datasets():
    """data.gouv.fr's reuse export as its own pipelines keep it (tests/data/real/udata/README.md):
    expected values read from the file. Its `url` is the reuse's page on data.gouv.fr, its
    `remote_url` the reuse itself."""
    exported = (REAL / "datagouv-export-reuses.csv").read_bytes()
    app = web.Application()
    app.router.add_get("/api/1/site/reuses.csv", answering(web.Response(body=exported, content_type="text/csv")))
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        source = Source(id="dg", url=str(server.make_url("/api/1/site/datasets.csv")), family="udata", name="dg")
        backend = UdataBackend(Fetcher(session, POLICY), source, RunContext(run_id="r", mode="full"))
        items = [item async for item in backend.reuses()]
    assert [i.error for i in items] == [None, None]
    cadastre, commande = (ReuseDiscovered.model_validate_json(i.reuse.payload) for i in items)
    assert (cadastre.remote_id, cadastre.title, cadastre.type) == (
        "61bf7ab31fe699954ebd3fa8", "cadastre.data.gouv.fr", "application"
    )  # fmt: skip
    assert cadastre.url == "https://cadastre.data.gouv.fr/"
    assert cadastre.remote_url == "https://www.data.gouv.fr/reuses/cadastre-data-gouv-fr/"
    assert cadastre.datasets == ["59b0020ec751df07d5f13bcf", "58e5924b88ee3802ca255566"]
    assert cadastre.record_keys() == ["dg:58e5924b88ee3802ca255566", "dg:59b0020ec751df07d5f13bcf"]
    assert cadastre.created is not None and cadastre.created.year == 2021
    assert (commande.type, len(commande.datasets)) == ("visualization", 5)


async def test_the_api_s_reuses_are_read_across_pages_with_their_datasets():
    portal = PortalSpec(family="udata", slug="reuses", size=1700, seed=3, publishers=PORTAL.publishers)
    async with TestServer(build_app(World([portal]))) as server, aiohttp.ClientSession() as session:
        source = Source(id="s", url=str(server.make_url(portal.path)), family="udata", name="test")
        backend = UdataBackend(Fetcher(session, POLICY), source, RunContext(run_id="r", mode="full"))
        items = [item async for item in backend.reuses()]
    expected = reuses(portal)
    assert len(expected) > 200  # three pages of 100
    read = [ReuseDiscovered.model_validate_json(i.reuse.payload) for i in items]
    assert [r.remote_id for r in read] == [r.id for r in expected]
    assert [r.datasets for r in read] == [[dataset(portal, n).id for n in r.datasets] for r in expected]
    assert {r.type for r in read} <= {"application", "visualization", "api", "news_article", "paper", "post",
                                      "idea", "hardware"}  # fmt: skip


async def test_a_reuse_without_a_title_is_an_item_error_and_the_others_are_kept():
    listed = [{"id": "a", "title": " ", "datasets": []}, {"id": "b", "title": "Carte", "datasets": [{"id": "d"}]}]
    page = {"data": listed, "next_page": None}
    app = web.Application()
    app.router.add_get("/p/api/1/reuses/", answering(web.json_response(page)))
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        source = Source(id="s", url=str(server.make_url("/p")), family="udata", name="test")
        backend = UdataBackend(Fetcher(session, POLICY), source, RunContext(run_id="r", mode="full"))
        items = [item async for item in backend.reuses()]
    assert [(i.remote_id, i.error) for i in items] == [
        ("a", "cannot map the reuse: reuse without a title"),
        ("b", None),
    ]


# --- audience ----------------------------------------------------------------------------------


async def test_the_real_export_s_counters_are_each_dataset_s_audience():
    """data.gouv.fr's `metric.views`, `metric.followers` and `metric.resources_downloads`, as the
    file gives them (an empty counter is left out, not read as zero)."""
    app = web.Application()
    for name in ("datasets", "organizations", "resources"):
        body = (REAL / f"datagouv-export-{name}.csv").read_bytes()
        app.router.add_get(f"/api/1/site/{name}.csv", answering(web.Response(body=body, content_type="text/csv")))
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        source = Source(id="dg", url=str(server.make_url("/api/1/site/datasets.csv")), family="udata", name="dg")
        backend = UdataBackend(Fetcher(session, POLICY), source, RunContext(run_id="r", mode="full"))
        audience = {item.remote_id: item.audience async for item in backend.items() if item.error is None}
    assert audience["5b3cc551c751df4822526c1c"] == {"views": 353899, "downloads": 42418438, "followers": 16}
    assert audience["67164a231c2a52cc06b9b618"] == {"views": 4969, "downloads": 5833, "followers": 0}
    assert audience["68c8103f65789f729ee0c3c1"] == {"views": 180, "followers": 0}


async def test_the_real_ods_catalogue_s_explore_counters_are_its_audience():
    """data.economie.gouv.fr's `metas.explore` (tests/data/real/ods/README.md): downloads and API calls."""
    body = (REAL.parent / "ods/data-economie-catalog-datasets.json").read_bytes()
    app = web.Application()
    app.router.add_get(
        "/api/explore/v2.1/catalog/datasets", answering(web.Response(body=body, content_type="application/json"))
    )
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        source = Source(id="eco", url=str(server.make_url("/")), family="ods", name="eco")
        backend = backend_for("ods")(Fetcher(session, POLICY), source, RunContext(run_id="r", mode="full"))
        items = [item async for item in backend.items()]
    assert [i.audience for i in items] == [{"downloads": 105, "api_calls": 11824}]
