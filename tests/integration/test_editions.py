"""A yearly edition, as an operator takes it: `python -m services.indicators edition --year N` writes
its files once; the api serves them unchanged (immutable, their SHA-256 in Repr-Digest) and lists them in the
catalogue; the same command again is refused and changes neither the files nor the stored edition."""

import base64
import hashlib

import aiohttp
import pytest
from frictionless import Package

from shared.editions import checksums
from tests.support.db import connect_as
from tests.support.processes import run_module

pytestmark = pytest.mark.integration

# A year before any other test's: the indicators count entries and exits from the latest edition, which
# this one must never be (2031 was, and moved test_indicators' counts).
YEAR = "2019"


async def test_an_edition_is_written_once_served_as_is_and_never_changes(referentiel, services, settings):
    api = services["api"].url
    said = await run_module(settings, "services.indicators", "edition", "--year", YEAR)
    assert "scopes kept in the edition" in said
    folder = settings.editions_dir / YEAR
    written = {p.name: p.read_bytes() for p in folder.iterdir()}
    digests = checksums(settings.editions_dir, int(YEAR))
    assert set(digests) == set(written) - {"SHA256SUMS"} and "datapackage.json" in digests
    assert all(hashlib.sha256(written[name]).hexdigest() == digest for name, digest in digests.items())
    package = Package("datapackage.json", basepath=str(folder))
    report = package.validate()
    assert report.valid, report.flatten(["taskName", "rowNumber", "fieldName", "type", "note"])[:10]
    assert len(package.get_table_resource("organizations").read_rows()) > 30_000  # the whole référentiel

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api}/api/v1/editions") as response:
            listed = {e["year"]: e for e in (await response.json())["data"]}
        assert {f["name"]: f["sha256"] for f in listed[int(YEAR)]["files"]} == digests
        async with http.get(f"{api}/api/v1/editions/{YEAR}/organizations.csv") as response:
            assert response.status == 200 and await response.read() == written["organizations.csv"]
            digest = base64.b64encode(bytes.fromhex(digests["organizations.csv"])).decode()
            assert response.headers["Repr-Digest"] == f"sha-256=:{digest}:"
            assert "immutable" in response.headers["Cache-Control"]
            assert response.headers["Link"].startswith(f"<{api}/api/v1/editions/{YEAR}/organizations.schema.json>")
        async with http.get(f"{api}/api/v1/editions/{YEAR}/passwords.csv") as response:
            assert response.status == 404  # only the files its SHA256SUMS lists
        async with http.get(f"{api}/api/v1/catalog.ttl") as response:
            catalogue = await response.text()
        assert f"{api}/api/v1/editions/{YEAR}/datasets.csv" in catalogue

    conn = await connect_as(settings, "indicators")
    taken = await conn.fetchval("SELECT max(taken_at) FROM indicators.editions WHERE year = $1", int(YEAR))
    with pytest.raises(RuntimeError, match=f"l'édition {YEAR} est déjà publiée"):
        await run_module(settings, "services.indicators", "edition", "--year", YEAR)
    assert await conn.fetchval("SELECT max(taken_at) FROM indicators.editions WHERE year = $1", int(YEAR)) == taken
    await conn.close()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == written
