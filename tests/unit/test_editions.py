"""A yearly edition's files without PostgreSQL: their tables validate against their own schemas and
hashes with frictionless-py, and a published year is never written again."""

import json
from datetime import UTC, datetime

import pytest
from frictionless import Package

from services.indicators.editions import edition_files
from shared.editions import CHECKSUMS, EditionPublished, checksums, published_years, write_edition

TAKEN = datetime(2031, 10, 8, 9, 30, tzinfo=UTC)
ORGANIZATIONS = [
    {"id": "213502388", "siren": "213502388", "name": "Rennes", "type": "COM", "insee_code": "35238",
     "departement": "35", "region": "53", "epci": "243500139", "population": 227830, "obligated": True,
     "council_id": None, "values": {"datasets": 2, "publishes": 1, "open_format_share": 0.5, "platforms": 1}},
    {"id": "REG-53", "siren": None, "name": "Bretagne", "type": "REG", "insee_code": "53", "departement": None,
     "region": "53", "epci": None, "population": None, "obligated": None, "council_id": None, "values": {}},
]  # fmt: skip
INDICATORS = [
    {"scope": "national", "scope_id": "FR", "taken_at": TAKEN, "values": {"opening_rate": 0.2, "theme:Transport": 3}},
    {"scope": "region", "scope_id": "53", "taken_at": TAKEN, "values": {"opening_rate": 0.4}},
]
DATASETS = [
    {"id": "d-1", "organization_id": "213502388", "title": "=Budget", "licence": "licence-ouverte",
     "formats": ["csv", "json"], "schemas": [], "themes": ["Budget"], "modified": TAKEN, "portals": ["https://p.fr"]},
    {"id": "d-2", "organization_id": None, "title": "Voirie", "licence": None, "formats": [], "schemas": [],
     "themes": [], "modified": None, "portals": []},
]  # fmt: skip


def test_the_files_validate_against_their_schemas_and_hashes(tmp_path):
    files = edition_files(2031, TAKEN, ORGANIZATIONS, INDICATORS, DATASETS)
    assert sorted(files) == ["datapackage.json", "datasets.csv", "datasets.schema.json", "indicators.csv",
                             "indicators.schema.json", "organizations.csv", "organizations.schema.json"]  # fmt: skip
    for name, body in files.items():
        (tmp_path / name).write_bytes(body)
    package = Package("datapackage.json", basepath=str(tmp_path))
    report = package.validate()
    assert report.valid, report.flatten(["taskName", "rowNumber", "fieldName", "type", "note"])[:10]
    rows = package.get_table_resource("organizations").read_rows()
    assert [(r["id"], r["datasets"], r["publishes"], r["open_format_share"]) for r in rows] == [
        ("213502388", 2, True, 0.5), ("REG-53", 0, False, None)]  # fmt: skip
    assert "'=Budget" in files["datasets.csv"].decode()  # a formula is not run by a spreadsheet
    assert json.loads(files["datapackage.json"])["created"] == TAKEN.isoformat()

    # A file that changed after its hash was written is caught.
    (tmp_path / "datasets.csv").write_bytes(files["datasets.csv"].replace(b"Voirie", b"Voiries"))
    assert not Package("datapackage.json", basepath=str(tmp_path)).validate().valid


def test_a_published_edition_is_never_written_again(tmp_path):
    first = edition_files(2031, TAKEN, ORGANIZATIONS, INDICATORS, DATASETS)
    digests = write_edition(tmp_path, 2031, first)
    assert published_years(tmp_path) == [2031] and checksums(tmp_path, 2031) == digests
    assert (tmp_path / "2031" / CHECKSUMS).read_text().splitlines()[0].endswith("  datapackage.json")
    before = {p.name: p.read_bytes() for p in (tmp_path / "2031").iterdir()}
    again = edition_files(2031, datetime.now(UTC), ORGANIZATIONS[:1], INDICATORS, DATASETS[:1])
    with pytest.raises(EditionPublished):
        write_edition(tmp_path, 2031, again)
    assert {p.name: p.read_bytes() for p in (tmp_path / "2031").iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["2031"]  # nothing left beside it
