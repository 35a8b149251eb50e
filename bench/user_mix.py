"""What visitors of the public site ask, as a stream of requests drawn from a seed: searches by name,
filters (type, département, obligation, publication), sorts and pages of the organisations and
datasets lists, organisation cards and their datasets, indicators, statistics, the map's points and
small exports. Few requests repeat within a benchmark's window, so most answers are computed, not
served from the api's two-second micro-cache; `X-Cache` on each answer says which (counted by the
benchmarks beside the rates)."""

import random
from collections.abc import Iterator
from urllib.parse import urlencode

# Words people type (beginnings of commune and EPCI names), and the sorts and sizes the front end asks.
WORDS = ("saint", "rennes", "lyon", "mont", "ville", "val", "bourg", "port", "la roche", "agglo", "pays",
         "sur mer", "brest", "nantes", "lille", "marseille", "tours", "metropole", "bois", "fontaine")  # fmt: skip
TYPES = ("COM", "CC", "CA", "CU", "MET", "DEP", "REG", "EPT")
SORTS = ("name", "-population", "-datasets", "population")
DEPARTEMENTS = (*(f"{n:02d}" for n in range(1, 96) if n != 20), "2A", "2B", "971", "972", "973", "974", "976")


def organisations_list(rng: random.Random) -> str:
    """One page of the organisations table, as the front end asks it after a filter change."""
    params: dict[str, str | int] = {"page_size": rng.choice((24, 50)), "page": rng.randint(1, 8)}
    if rng.random() < 0.5:
        params["q"] = rng.choice(WORDS)
    if rng.random() < 0.5:
        params["type"] = rng.choice(TYPES)
    if rng.random() < 0.4:
        params["departement"] = rng.choice(DEPARTEMENTS)
    if rng.random() < 0.3:
        params["obligated"] = rng.choice(("true", "false"))
    params["sort"] = rng.choice(SORTS)
    return "/api/v1/organizations?" + urlencode(params)


# What API users filter datasets by (values of the simulated portals: bench/README.md), and the words
# the organisation page's search box gets.
FORMATS = ("csv", "json", "xlsx", "shp", "geojson", "pdf", "zip")
LICENCES = ("odc-odbl", "cc-by", "fr-lo", "lov2", "ODbL", "notspecified")
TITLE_WORDS = ("eau", "budget", "velo", "arbres", "election", "parking", "deliberations", "population")


def datasets_list(rng: random.Random, publisher_ids: list[str]) -> str:
    """One page of datasets: an organisation's page of its datasets (mostly), or an API user's filtered
    list (format, licence, modification date), its first pages by number (deeper, `next_after`)."""
    if rng.random() < 0.6:
        params: dict[str, str | int] = {"page_size": 24, "page": rng.randint(1, 4)}
        if rng.random() < 0.3:
            params["q"] = rng.choice(TITLE_WORDS)
        return f"/api/v1/organizations/{rng.choice(publisher_ids)}/datasets?" + urlencode(params)
    params = {"page_size": 50, "page": rng.randint(1, 5)}
    if rng.random() < 0.4:
        params["format"] = rng.choice(FORMATS)
    if rng.random() < 0.3:
        params["licence"] = rng.choice(LICENCES)
    if rng.random() < 0.3:
        params["modified_since"] = f"2026-{rng.randint(1, 11):02d}-01"
    if rng.random() < 0.1:
        params["q"] = rng.choice(TITLE_WORDS)
    return "/api/v1/datasets?" + urlencode(params)


def dataset_requests(seed: int, publisher_ids: list[str]) -> Iterator[str]:
    """Only the datasets lists' pages: the datasets benchmark's computed figure."""
    rng = random.Random(seed)
    while True:
        yield datasets_list(rng, publisher_ids)


def requests(seed: int, organisation_ids: list[str]) -> Iterator[str]:
    """An endless stream of paths, in the proportions of a visit: mostly lists and cards."""
    rng = random.Random(seed)
    while True:
        draw = rng.random()
        departement = rng.choice(DEPARTEMENTS)
        if draw < 0.40:
            yield organisations_list(rng)
        elif draw < 0.60:
            yield f"/api/v1/organizations/{rng.choice(organisation_ids)}"
        elif draw < 0.68:
            yield f"/api/v1/organizations/{rng.choice(organisation_ids)}/datasets?page_size=24"
        elif draw < 0.78:
            params = {"page_size": 50, "page": rng.randint(1, 5), "departement": departement}
            yield "/api/v1/datasets?" + urlencode(params)
        elif draw < 0.86:
            scope = rng.choice((f"scope=departement&id={departement}", "scope=region", "scope=departement"))
            yield f"/api/v1/indicators?{scope}"
        elif draw < 0.92:
            grouping = rng.choice(("type", "region", "departement"))
            yield f"/api/v1/organizations/stats?by={grouping}&departement={departement}"
        elif draw < 0.98:
            yield f"/api/v1/map/organizations.json?departement={departement}&type={rng.choice(TYPES)}"
        else:
            yield f"/api/v1/exports/organizations.csv?departement={departement}&type={rng.choice(('CC', 'CA', 'DEP'))}"


def list_requests(seed: int) -> Iterator[str]:
    """Only the organisations table's pages: the list benchmark's computed figure."""
    rng = random.Random(seed)
    while True:
        yield organisations_list(rng)
