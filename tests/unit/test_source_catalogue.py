"""The catalogue of the real portals of France (infra/sources/france.yaml): generated from Open Data
France's registry, every platform listed (harvested, or not with why), every source valid."""

import csv
import importlib.util
import io
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.harvester import schedules
from services.harvester.__main__ import first_runs, read_sources_file
from services.harvester.backends import BACKENDS
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "infra/sources/france.yaml"
REGISTRY = ROOT / "infra/sources/odf/odf-platforms.csv"


def generator():
    spec = importlib.util.spec_from_file_location("build_france", ROOT / "infra/sources/build_france.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_platform_of_the_registry_is_listed_harvested_or_not_with_its_reason():
    sources, skipped = read_sources_file(CATALOGUE)
    with REGISTRY.open(encoding="utf-8") as rows:
        registry = list(csv.DictReader(rows))
    with (REGISTRY.parent / "odf-national-platforms.csv").open(encoding="utf-8") as rows:
        national = [r for r in csv.DictReader(rows) if r["url"] != "https://www.data.gouv.fr"]  # listed already
    assert len(sources) + len(skipped) == len(registry) + len(national) == 204 + 37
    assert all(s.family in BACKENDS for s in sources)
    assert len({s.id for s in sources} | {e["id"] for e in skipped}) == len(sources) + len(skipped)
    assert len({s.url for s in sources}) == len(sources)
    assert all(e["reason"] and e["url"] for e in skipped)
    # data.gouv.fr through its daily export, never through its API pages.
    assert [s.url for s in sources if "data.gouv.fr" in s.url] == ["https://www.data.gouv.fr/api/1/site/datasets.csv"]
    families = {s.family for s in sources}
    assert {"ods", "arcgis", "ckan", "udata"} <= families


def test_the_committed_catalogue_is_what_the_generator_writes():
    if not generator().REFERENTIEL.exists():
        pytest.fail("the référentiel is not installed: run `make setup`")
    out = io.StringIO()
    with redirect_stdout(out):
        generator().main()
    assert out.getvalue() == CATALOGUE.read_text(encoding="utf-8"), "run `make sources` and commit the result"


@pytest.mark.parametrize(
    "host, departement",
    [
        ("data.rennesmetropole.fr", "35"),  # a big commune, glued to "metropole"
        ("datarmor.cotesdarmor.fr", "22"),  # a département's name
        ("data16.lacharente.fr", "16"),  # a number and a name that agree
        ("opendata-sig.saintdenis.re", "974"),  # La Réunion's domain (Saint-Denis is also in 93)
        ("boulognebillancourt-seineouest.opendatasoft.com", "92"),  # a shared platform's subdomain
        ("departement-ain.opendata.arcgis.com", "01"),
        ("opendata.paris-saclay.com", None),  # Paris-Saclay is not Paris
        ("bondoufle-grandparissud.opendatasoft.com", None),  # nor is Grand Paris Sud
        ("trouver.ternum-bfc.fr", None),  # a regional platform names no département
    ],
)
def test_the_departement_is_read_from_the_address_only_when_it_names_one(host, departement):
    module = generator()
    if not module.REFERENTIEL.exists():
        pytest.fail("the référentiel is not installed: run `make setup`")
    assert module.Places(module.REFERENTIEL).departement(host) == departement


def test_the_registry_s_technology_gives_way_to_what_the_address_says():
    reading = generator().reading
    assert reading("https://noisiel-agglo-pvm.opendata.arcgis.com", "DataGouv")[0] == "arcgis"
    assert reading("https://sevres-seineouest.opendatasoft.com", "DataGouv") == (
        "ods",
        "https://sevres-seineouest.opendatasoft.com",
    )
    assert reading("https://data.grandlyon.com", "GeoNetwork") == (
        "csw",
        "https://data.grandlyon.com/geonetwork/srv/fre/csw",
    )
    assert isinstance(reading("https://www.bayonne.fr", "DataGouv"), str)  # a town's site: not harvested, with why
    assert isinstance(reading("http://www.lemans.fr", "Spécifique"), str)


def test_a_whole_catalogue_starts_spread_over_the_hour_and_one_source_at_its_interval():
    sources, _ = read_sources_file(CATALOGUE)
    now = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    spread = first_runs(sources, now, timedelta(minutes=60))
    assert all(now <= (spread[s.id] or now - timedelta(1)) < now + timedelta(minutes=60) for s in sources)
    assert len({spread[s.id] for s in sources}) > len(sources) * 0.9  # not all at the same second
    assert first_runs(sources[:1], now, None) == {sources[0].to_source().id: now + timedelta(days=1)}


def test_a_failing_source_is_tried_less_and_less_often_up_to_a_week():
    now = datetime(2026, 12, 2, tzinfo=UTC)
    waits = [schedules.next_run_after_failures("@daily", n, now) for n in (1, 2, 3, 4, 5)]
    assert waits == [now + timedelta(days=d) for d in (1, 2, 4, 7, 7)]
    assert schedules.next_run_after_failures("every 15m", 3, now) == now + timedelta(hours=1)
    assert schedules.next_run_after_failures("@manual", 3, now) is None


def test_the_harvester_is_polite_by_default_and_names_a_contact():
    from services.harvester.fetch import FetchPolicy

    settings = Settings(harvest_contact_url="https://observatoire.example/contact")
    policy = FetchPolicy.from_settings(settings)
    assert (policy.per_host_concurrency, policy.per_host_interval_seconds) == (2, 0.25)
    assert policy.user_agent.endswith("(+https://observatoire.example/contact)")
