"""The Observatoire's own data as open data: every CSV export names its Table Schema and validates
against it with frictionless-py, the data package validates as a whole (its foreign keys included),
and a schema refuses what it describes as wrong."""

import json
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from frictionless import Package, Resource, Schema, validate

from shared.events import Publisher, ResourceSchema
from shared.events import Resource as EventResource
from tests.support.api import commune
from tests.support.events import discovered, publish
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration

EXPORTS = ("organizations.csv", "datasets.csv", "platforms.csv", "indicators.csv?scope=region",
           "indicators.csv?scope=national")  # fmt: skip


@pytest.fixture(scope="module")
async def published(referentiel, services, settings) -> str:
    """A commune no other test publishes for, with two more datasets (licence, formats, a schema, themes,
    dates), consolidated and counted."""
    api = services["api"].url
    async with aiohttp.ClientSession() as http:
        lannion = await commune(http, api, "lannion")
        expected = lannion["datasets"] + 2
        publisher = Publisher(name="Commune de Lannion", siren=lannion["siren"])
        for n, (fmt, schema) in enumerate((("csv", "scdl/deliberations"), ("pdf", None))):
            event = discovered(f"od-{n}", publisher, portal_url="https://data.lannion.test", source_id="open-data")
            resource = EventResource(url=f"https://files.test/od-{n}.{fmt}", format=fmt,
                                     schema=ResourceSchema(name=schema) if schema else None)  # fmt: skip
            await publish(settings, event.model_copy(update={
                "resources": [resource], "licence": "licence-ouverte", "themes": ["Culture"],
                "created": datetime(2024, 3, 1, tzinfo=UTC), "modified": datetime(2026, 9, 1, 12, 30, tzinfo=UTC),
            }))  # fmt: skip

        async def counted() -> bool:  # in the organisations' list, which the export reads
            return bool((await commune(http, api, "lannion"))["datasets"] == expected)

        await wait_for(counted, timeout=90)
    return str(api)


async def fetched(http: aiohttp.ClientSession, url: str, path: Path) -> dict[str, str]:
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        body = await response.read()
    path.write_bytes(body)  # noqa: ASYNC240 (a few kB in a test)
    return dict(response.headers)


async def test_every_csv_export_names_its_schema_and_is_valid_against_it(published, tmp_path):
    async with aiohttp.ClientSession() as http:
        for n, export in enumerate(EXPORTS):
            csv_path, schema_path = tmp_path / f"export-{n}.csv", tmp_path / f"schema-{n}.json"
            headers = await fetched(http, f"{published}/api/v1/exports/{export}", csv_path)
            link = headers["Link"]
            assert link.endswith('>; rel="describedby"; type="application/schema+json"'), link
            schema_headers = await fetched(http, link[1 : link.index(">")], schema_path)
            assert schema_headers["Content-Type"].startswith("application/schema+json")
            described = json.loads(schema_path.read_text())
            described.pop("foreignKeys", None)  # checked with the package, which holds what they point to
            schema = Schema.from_descriptor(described)
            report = validate(Resource(path=csv_path.name, basepath=str(tmp_path), schema=schema, encoding="utf-8-sig"))
            assert report.valid, (export, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10])
            assert report.tasks[0].stats["rows"] > 0, export
            # The French spreadsheet form has French headers: no schema is named for it.
            async with http.get(f"{published}/api/v1/exports/{export}", params={"lang": "fr"}) as response:
                assert "Link" not in response.headers


async def test_the_data_package_validates_as_a_whole_with_its_foreign_keys(published, tmp_path):
    async with aiohttp.ClientSession() as http, http.get(f"{published}/api/v1/exports/datapackage.json") as answer:
        descriptor = await answer.json()
    names = [r["name"] for r in descriptor["resources"]]
    assert names[:3] == ["organizations", "datasets", "platforms"] and "indicators-national" in names
    assert descriptor["licenses"][0]["name"] == "etalab-2.0"
    package = Package(descriptor)
    report = package.validate()
    assert report.valid, report.flatten(["taskName", "rowNumber", "fieldName", "type", "note"])[:10]
    datasets = package.get_table_resource("datasets").read_rows()
    assert any(row["organization_id"] and row["title"] for row in datasets)


async def test_a_schema_refuses_what_it_describes_as_wrong(published, tmp_path):
    async with aiohttp.ClientSession() as http:
        await fetched(http, f"{published}/api/v1/exports/organizations.schema.json", tmp_path / "schema.json")
    schema = Schema.from_descriptor(json.loads((tmp_path / "schema.json").read_text()))
    columns = [f.name for f in schema.fields]
    good = dict.fromkeys(columns, "") | {"id": "213502382", "siren": "213502382", "name": "Rennes", "type": "COM",
                                         "datasets": "3", "publishes": "True"}  # fmt: skip
    bad = good | {"id": "X", "siren": "21350238", "type": "VILLE", "publishes": "oui", "open_format_share": "1.5"}
    lines = [",".join(columns), *(",".join(row[c] for c in columns) for row in (good, bad))]
    (tmp_path / "rows.csv").write_text("\n".join(lines) + "\n")
    report = validate(Resource(path="rows.csv", basepath=str(tmp_path), schema=schema))
    errors = {tuple(error) for error in report.flatten(["rowNumber", "fieldName"])}
    assert errors == {(3, "siren"), (3, "type"), (3, "publishes"), (3, "open_format_share")}
