"""The web front end in Debian's Chromium (Playwright), against the api service over the whole
référentiel: each view shows the API's numbers, one filter drives every view and lives in the URL,
downloads hold the filtered rows, axe finds no serious violation, nothing leaves localhost."""

import asyncio
import csv
import io
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from playwright.async_api import Browser, Page, Route, expect

from shared.events import AudienceMeasured, Publisher, Resource, ReuseDiscovered
from shared.topics import MAIN_TOPICS
from tests.support.api import commune
from tests.support.events import discovered, publish
from tests.support.kafka import produce, wait_for

pytestmark = pytest.mark.integration

AXE = Path(__file__).parents[2] / "frontend/node_modules/axe-core/axe.min.js"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
async def seeded(referentiel, services, settings):
    """Quimper publishes two datasets; the registry holds the whole référentiel."""
    api = services["api"].url
    async with aiohttp.ClientSession() as http:
        quimper = await commune(http, api, "quimper")
        publisher = Publisher(name="Ville de Quimper", siren=quimper["siren"])
        for n in (1, 2):
            event = discovered(f"qp-{n}", publisher, portal_url="https://data.quimper.test", source_id="browser")
            resources = [Resource(url=f"https://f.test/{n}.csv", format="csv")]
            update = {"resources": resources, "remote_url": f"https://data.quimper.test/d/qp-{n}"}
            await publish(settings, event.model_copy(update=update))

        async def published():
            async with http.get(f"{api}/api/v1/organizations/{quimper['id']}") as response:
                card = await response.json()
            return card if card["indicators"].get("datasets") == 2 else None

        await wait_for(published, timeout=90)
    return quimper


@pytest.fixture
async def page(browser: Browser, services) -> AsyncIterator[Page]:
    context = await browser.new_context(accept_downloads=True, locale="fr-FR")
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = await context.new_page()
    page.set_default_timeout(20_000)
    yield page
    await context.close()
    outside = [url for url in requested if urlsplit(url).hostname not in LOCAL_HOSTS and not url.startswith("data:")]
    assert outside == [], f"requests left localhost: {outside[:5]}"


async def api_json(services, path: str, **params):
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{services['api'].url}{path}", params=params) as response,
    ):
        assert response.status == 200
        return await response.json()


def read(path: Path, encoding: str) -> str:
    return path.read_text(encoding=encoding)  # a small downloaded file: blocking is fine here


async def open_view(page: Page, services, query: str) -> None:
    await page.goto(f"{services['api'].url}/{query}")
    await page.wait_for_function("document.querySelector('#compte').textContent.includes('/')")


async def count_text(page: Page) -> str:
    return (await page.text_content("#compte")) or ""


async def no_serious_violations(page: Page) -> None:
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})")
    serious = [(v["id"], v["impact"], len(v["nodes"])) for v in result["violations"]
               if v["impact"] in ("serious", "critical")]  # fmt: skip
    assert serious == [], serious


async def test_the_table_shows_the_filtered_organisations(seeded, services, page):
    everyone = await api_json(services, "/api/v1/organizations", page_size=1)
    await open_view(page, services, "?type=DEP&region=53")
    assert await count_text(page) == f"4 / {everyone['total']:,} organisations".replace(",", "\u202f")
    names = await page.locator("table.organisations tbody th").all_text_contents()
    assert names == ["Côtes-d'Armor", "Finistère", "Ille-et-Vilaine", "Morbihan"]
    await no_serious_violations(page)

    # Sorting by population, from the column header's button. The URL changes at the click and the
    # rows once the API answers, so the rows are awaited (expect retries) rather than read at once.
    by_population = await api_json(services, "/api/v1/organizations", type="DEP", region="53", sort="population")
    ascending = [o["name"] for o in by_population["data"]]
    assert ascending[-1] == "Ille-et-Vilaine" and ascending != names
    rows = page.locator("table.organisations tbody th")
    await page.get_by_role("button", name="Population").click()
    await page.wait_for_url("**tri=population**")
    await expect(rows).to_have_text(ascending)
    await page.get_by_role("button", name="Population").click()
    await page.wait_for_url("**tri=-population**")
    await expect(rows).to_have_text(ascending[::-1])


def french_number(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


async def test_the_home_page_says_who_opens_their_data(seeded, services, page):
    national = (await api_json(services, "/api/v1/indicators", scope="national"))["data"][0]["values"]
    departements = (await api_json(services, "/api/v1/indicators", scope="departement"))["data"]
    await page.goto(f"{services['api'].url}/")
    await page.wait_for_selector("#vue[data-view=home][data-state=ready]")
    figure = page.locator("#chiffre-collectivites .value")
    assert await figure.text_content() == french_number(national["collectivites_publishing"]) != "0"
    assert await page.locator("#chiffre-jeux .value").text_content() == french_number(national["datasets"])
    share = "x => new Intl.NumberFormat('fr-FR', {style: 'percent', maximumFractionDigits: 1}).format(x)"
    opening = await page.evaluate(share, national["opening_rate"])
    assert await page.locator("#chiffre-ouverture .value").text_content() == opening
    definition = await page.locator("#chiffre-ouverture .definition").text_content() or ""
    assert definition.startswith(
        f"{french_number(national['obligated_publishing'])} sur {french_number(national['obligated'])}"
    )
    assert "3 500 habitants" in (await page.locator(".obligation").text_content() or "")
    assert await page.locator("#tendance").count() == 1

    # The départements ahead: the highest opening rates first (Quimper publishes: Finistère's is not 0).
    rated = [d for d in departements if (d["values"].get("obligated") or 0) > 0]
    best = max(d["values"]["opening_rate"] for d in rated)
    assert best > 0
    leading = page.locator("#departements-en-tete li")
    assert await leading.count() == min(5, len(rated))
    assert (await leading.first.text_content() or "").split(" : ")[1].startswith(await page.evaluate(share, best))
    assert await page.locator("#departements-en-retrait li").count() == min(5, len(rated))

    # The staff's pages are not public tabs; the ways in lead to the views.
    tabs = await page.locator("nav.views a").all_text_contents()
    assert "Modération" not in tabs and "Exploitation" not in tabs
    assert await page.locator("footer nav.staff a").all_text_contents() == ["Modération", "Exploitation"]
    await no_serious_violations(page)
    await page.locator(".ways a", has_text="Carte").click()
    await page.wait_for_url("**vue=map**")


async def test_a_search_finds_the_place_and_filters_explain_themselves(seeded, services, page):
    await page.goto(f"{services['api'].url}/")
    await page.wait_for_selector("#vue[data-view=home][data-state=ready]")
    await page.fill("#f-q", "Rennes")
    await page.wait_for_url("**q=Rennes**")  # as typed, without Enter
    first = page.locator("table.organisations tbody tr").first
    await expect(first.locator("th")).to_have_text("Rennes")
    assert await first.locator("td").nth(1).text_content() == "35 – Ille-et-Vilaine"

    # A région narrows the départements; each filter shows as a chip that removes it.
    await page.select_option("#f-region", "53")
    await page.wait_for_url("**region=53**")
    await expect(page.locator("#f-departement option")).to_have_text(
        ["Tous", "22 – Côtes-d'Armor", "29 – Finistère", "35 – Ille-et-Vilaine", "56 – Morbihan"]
    )
    chips = page.locator("#filtres-actifs .chip")
    await expect(chips).to_have_text(["Recherche : Rennes ✕", "Région : Bretagne ✕"])
    await chips.nth(1).click()  # the search box still has the focus: leaving it must not redraw the chips
    await page.wait_for_url(lambda url: "region=" not in url)
    assert await page.locator("#f-departement option").count() > 100

    # Nothing found: said, with a way out.
    await page.fill("#f-q", "Zzyzx introuvable")
    await expect(page.locator(".empty")).to_contain_text("Aucune organisation ne correspond pour « Zzyzx introuvable »")
    await page.get_by_role("button", name="Retirer tous les filtres").click()
    await page.wait_for_url(lambda url: "q=" not in url)
    await expect(page.locator("#f-q")).to_have_value("")

    # Fifty rows a page when asked, kept in the URL.
    await page.select_option("#par-page", "50")
    await page.wait_for_url("**par_page=50**")
    await expect(page.locator("table.organisations tbody tr")).to_have_count(50)
    await no_serious_violations(page)


async def test_quick_clicks_act_on_the_newest_state_not_on_the_rows_still_shown(seeded, services, page):
    """A second click that lands before the API has answered the first (slowed here) still toggles the
    sort and turns the page from the newest state, not from the one the old rows were drawn with."""
    await open_view(page, services, "?type=COM&departement=29")

    async def slowly(route: Route) -> None:
        await asyncio.sleep(0.8)
        await route.continue_()

    await page.route(re.compile(r"/api/v1/organizations\?"), slowly)
    header = page.get_by_role("button", name="Population")
    await header.click()
    await header.click()  # on the table sorted by name, still shown
    await page.wait_for_url("**tri=-population**")
    rows = page.locator("table.organisations tbody th")
    first = await api_json(
        services, "/api/v1/organizations", type="COM", departement="29", sort="-population", page_size=24
    )
    await expect(rows).to_have_text([o["name"] for o in first["data"]])

    following = page.get_by_role("button", name="Page suivante")
    await following.click()
    await following.click()  # on page 1, still shown
    await page.wait_for_url("**page=3**")
    third = await api_json(
        services, "/api/v1/organizations", type="COM", departement="29", sort="-population", page=3, page_size=24
    )
    await expect(rows).to_have_text([o["name"] for o in third["data"]])
    assert await page.locator("table.organisations caption").text_content() == (
        f"Organisations, page 3 sur {-(-third['total'] // 24)}"
    )


async def test_one_filter_drives_every_view_and_the_url_restores_it(seeded, services, page):
    await open_view(page, services, "?vue=table")
    await page.select_option("#f-type", "COM")
    await page.select_option("#f-departement", "29")
    await page.wait_for_url("**departement=29**")
    expected = await api_json(services, "/api/v1/organizations", type="COM", departement="29", page_size=1)
    await page.wait_for_function(f"document.querySelector('#compte').textContent.startsWith('{expected['total']}')")

    await page.get_by_role("link", name="Fiches").click()
    await page.wait_for_url("**vue=cards**")
    await page.wait_for_selector("article.card")
    assert (await count_text(page)).startswith(str(expected["total"]))
    assert await page.locator("article.card").count() == min(24, expected["total"])
    assert await page.locator("article.card .subtitle").first.text_content() == "Commune · Finistère (29)"

    await page.get_by_role("link", name="Carte").click()
    await page.wait_for_selector("#vue[data-state=ready]")
    assert int(await page.get_attribute("#vue", "data-points") or 0) == expected["total"]
    assert await page.get_attribute("#vue", "data-areas") == "96"  # 101 départements, 5 of them in the insets
    # Every overseas département and collectivité in an inset of its own, each drawing its one area.
    assert await page.locator(".insets figcaption").all_text_contents() == [
        "Guadeloupe", "Martinique", "Guyane", "La Réunion", "Mayotte", "Saint-Pierre-et-Miquelon",
        "Saint-Barthélemy", "Saint-Martin", "Wallis-et-Futuna", "Polynésie française", "Nouvelle-Calédonie",
    ]  # fmt: skip
    assert [await inset.get_attribute("data-areas") for inset in await page.locator(".inset").all()] == ["1"] * 11
    await no_serious_violations(page)
    await page.select_option("#carte-niveau", "regions")
    await page.wait_for_url("**niveau=regions**")
    await page.wait_for_selector("#vue[data-state=ready][data-areas='13']")  # 18 régions and 6 COM, 11 in insets

    await page.get_by_role("link", name="Graphiques").click()
    await page.wait_for_selector("#vue[data-view=charts][data-state=ready]")
    assert await page.locator("figure.chart svg").count() >= 3
    await no_serious_violations(page)

    # A copied URL opens the same view with the same filter.
    copied = page.url
    other = await page.context.new_page()
    await other.goto(copied)
    await other.wait_for_selector("#vue[data-view=charts][data-state=ready]")
    assert await other.input_value("#f-type") == "COM" and await other.input_value("#f-departement") == "29"
    assert (await other.text_content("#compte") or "").startswith(str(expected["total"]))


async def test_the_map_shows_differences_and_says_what_it_leaves_out(seeded, services, page):
    areas = await api_json(services, "/api/v1/map/departements.geojson", indicator="opening_rate")
    values = sorted(v for f in areas["features"] if (v := f["properties"]["value"]) is not None)
    placed = await api_json(services, "/api/v1/map/organizations.json")
    await page.goto(f"{services['api'].url}/?vue=map")
    await page.wait_for_selector("#vue[data-state=ready]")
    # Over the whole country the territories speak; the points wait to be asked for.
    assert await page.get_attribute("#vue", "data-points-shown") == "false"
    assert not await page.is_checked("#carte-points")

    # Classes from the data: the many départements where no obligated body publishes are one class,
    # the others share the rest, and the last class ends at the highest value, not at 100 %.
    share = "x => new Intl.NumberFormat('fr-FR', {style: 'percent', maximumFractionDigits: 1}).format(x)"
    classes = await page.locator("#legende-classes li").all_text_contents()
    assert classes[-1] == "sans valeur"
    assert values[0] == 0 < values[-1] and values.count(0) > len(values) / 5
    assert classes[0] == await page.evaluate(share, 0)
    assert classes[-2].endswith(await page.evaluate(share, values[-1]))
    assert 2 <= len(classes) - 1 <= 5 and len(set(classes)) == len(classes)

    # Every organisation is accounted for: placed, or counted and explained.
    legend = await page.locator("#legende-points").text_content() or ""
    assert legend.startswith(f"{french_number(len(placed['id']))} organisations placées (points masqués).")
    assert f"{french_number(placed['unplaced'])} autres n'ont pas de position" in legend
    await page.check("#carte-points")
    await page.wait_for_url("**points=oui**")
    await page.wait_for_selector("#vue[data-state=ready][data-points-shown=true]")
    await no_serious_violations(page)


FRENCH_MONTHS = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]


async def test_charts_and_filters_speak_french_and_name_the_overseas_collectivites(seeded, services, page):
    await open_view(page, services, "?vue=charts&type=COM")
    await page.wait_for_selector("#vue[data-view=charts][data-state=ready]")
    by_type, by_region = [await figure.locator("svg text").all_text_contents()
                          for figure in await page.locator("figure.chart.counts").all()]  # fmt: skip
    assert "30\u202f000" in by_type and not [tick for tick in by_type if "," in tick]  # not Plot's 30,000
    assert "Polynésie française" in by_region and not [label for label in by_region if label.isdigit() and
                                                          len(label) == 3]  # fmt: skip
    # Rates beside counts: the share that publishes per type, in French percentages.
    rates = await page.locator("figure.chart.rates").first.locator("svg text").all_text_contents()
    assert "Commune" in rates and [tick for tick in rates if tick.endswith("%")]
    history = await api_json(services, "/api/v1/indicators/history", scope="national",
                             indicator="organizations_publishing")  # fmt: skip
    last = date.fromisoformat(history["series"][-1]["at"])
    over_time = await page.locator("figure.chart.time").text_content() or ""
    # a time series once there are two days; before that, a sentence that says where it starts
    assert f"{last.day} {FRENCH_MONTHS[last.month - 1]} {last.year}" in over_time

    # Their communes are found from the filters too.
    await page.select_option("#f-departement", "987")
    await page.wait_for_url("**departement=987**")
    expected = await api_json(services, "/api/v1/organizations", type="COM", departement="987", page_size=1)
    await page.wait_for_function(f"document.querySelector('#compte').textContent.startsWith('{expected['total']} ')")
    assert expected["total"] > 40
    assert await page.locator("#f-departement option[value='987']").text_content() == "987 – Polynésie française"
    assert "Polynésie française" in await page.locator("#f-region option").all_text_contents()


async def test_a_download_holds_exactly_the_filtered_rows(seeded, services, page):
    await open_view(page, services, "?type=COM&departement=22&publishes=false")
    expected = await api_json(services, "/api/v1/organizations", type="COM", departement="22", publishes="false",
                              page_size=1)  # fmt: skip
    # People get the spreadsheet form, in the table's order; machines the raw one.
    await page.get_by_role("button", name="Population").click()
    await page.wait_for_url("**tri=population**")
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="CSV", exact=True).click()
    text = read(await (await waiting.value).path(), "utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert len(rows) == expected["total"] > 0
    assert {r["Département"] for r in rows} == {"22"} and {r["Publie"] for r in rows} == {"Non"}
    assert {r["Type (libellé)"] for r in rows} == {"Commune"}
    populations = [int(r["Population"]) for r in rows if r["Population"]]
    assert populations == sorted(populations)
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="CSV brut").click()
    rows = list(csv.DictReader(io.StringIO(read(await (await waiting.value).path(), "utf-8-sig"))))
    assert len(rows) == expected["total"] and {r["publishes"] for r in rows} == {"False"}

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="GeoJSON").click()
    geojson = json.loads(read(await (await waiting.value).path(), "utf-8"))
    assert len(geojson["features"]) == expected["total"]


async def test_the_organisation_page_shows_its_datasets(seeded, services, page):
    await open_view(page, services, f"?q={seeded['insee_code']}&type=COM")
    await page.get_by_role("link", name="Quimper").click()
    await page.wait_for_selector("#vue[data-view=organisation][data-state=ready]")
    assert await page.text_content("#org-datasets") == "2"
    # Where it is, why it must publish, its portals by name and home page.
    territory = await page.locator("dl.territory dd").all_text_contents()
    assert "Finistère (29)" in territory and "Bretagne (53)" in territory and len(territory) == 3
    obligation = await page.text_content("#org-obligation") or ""
    assert obligation.startswith(f"Obligée : {french_number(seeded['population'])} habitants"), obligation
    assert await page.locator("ul.portals li").all_text_contents() == [
        "data.quimper.test · udata (data.gouv.fr) · 2 jeux de données"
    ]
    assert await page.locator("ul.portals li a").get_attribute("href") == "https://data.quimper.test/"
    # The datasets in a table with their formats and licence, searchable.
    rows = page.locator("#jeux tbody tr")
    assert await rows.locator("th").all_text_contents() == ["Jeu qp-1", "Jeu qp-2"]
    assert await rows.first.locator("th a").get_attribute("href") == "https://data.quimper.test/d/qp-1"
    assert (await rows.first.locator("td").all_text_contents())[:2] == ["CSV", "licence non précisée"]
    await page.fill("#org-recherche", "qp-2")
    await expect(rows.locator("th")).to_have_text(["Jeu qp-2"])
    history = await page.text_content("#org-historique") or ""
    assert history.startswith("L'historique commence le") or await page.locator("#org-historique svg").count() == 1
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Télécharger la liste complète (CSV, 2 jeux)").click()
    rows_csv = list(csv.DictReader(io.StringIO(read(await (await waiting.value).path(), "utf-8-sig")), delimiter=";"))
    assert sorted(r["Titre"] for r in rows_csv) == ["Jeu qp-1", "Jeu qp-2"]
    await no_serious_violations(page)


async def test_the_organisation_page_names_what_it_was_before(referentiel, services, page):
    """A commune nouvelle lists its communes déléguées, the names publishers may still write."""
    match = await api_json(services, "/api/v1/organizations/match", name="Bellegarde-sur-Valserine", departement="01")
    organization_id = match["best"]["organization_id"]
    card = await api_json(services, f"/api/v1/organizations/{organization_id}")
    await page.goto(f"{services['api'].url}/?vue=organisation&organisation={organization_id}")
    await page.wait_for_selector("#vue[data-view=organisation][data-state=ready]")
    summary = page.locator("details.predecessors summary")
    assert await summary.text_content() == f"Anciennement : {len(card['predecessors'])} noms ou SIREN"
    await summary.click()
    items = await page.locator("details.predecessors li").all_text_contents()
    assert "Bellegarde-sur-Valserine · commune déléguée, INSEE 01033" in items
    assert len(items) == len(card["predecessors"])
    await no_serious_violations(page)


async def test_keyboard_and_phone(seeded, services, browser):
    context = await browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await page.goto(f"{services['api'].url}/")
    await page.wait_for_selector("#vue[data-view=home][data-state=ready]")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    tabs = [await tab.bounding_box() for tab in await page.locator("nav.views a").all()]
    assert len({round(box["y"]) for box in tabs if box}) == 1  # one row of tabs, scrolled sideways
    await page.keyboard.press("Tab")  # the skip link first
    assert await page.evaluate("document.activeElement.className") == "skip"
    await page.focus("#f-q")
    await page.keyboard.type("Quimper")
    await page.wait_for_url("**q=Quimper**")
    expected = await api_json(services, "/api/v1/organizations", q="Quimper", page_size=1)
    await page.wait_for_function(f"document.querySelector('#compte').textContent.startsWith('{expected['total']} ')")
    names = await page.locator("table.organisations tbody th").all_text_contents()
    assert "Quimper" in names and len(names) == expected["total"], names

    # The other filters are folded: the views and the first rows are on the first screen.
    assert not await page.is_visible("#f-type")
    assert (await page.locator("table.organisations").bounding_box() or {"y": 10_000})["y"] < 740
    more = page.get_by_role("button", name="Plus de filtres")
    await more.click()
    assert await more.get_attribute("aria-expanded") == "true"
    await page.select_option("#f-type", "COM")
    await page.wait_for_url("**type=COM**")
    await expect(more).to_have_text("Plus de filtres (1 actif)")
    await no_serious_violations(page)

    # A table of long names scrolls in its frame; the page itself never scrolls sideways.
    await page.goto(f"{services['api'].url}/?type=CC&tri=-population")
    await page.wait_for_selector("#vue[data-state=ready] table.organisations")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert await page.evaluate("(w => w.scrollWidth > w.clientWidth)(document.querySelector('.table-wrap'))")
    await context.close()


async def test_the_operations_page_shows_sources_lag_and_dead_letters(seeded, services, page):
    status = await api_json(services, "/api/v1/operations/status")
    await page.goto(f"{services['api'].url}/?vue=operations")
    await page.wait_for_selector("#vue[data-view=operations][data-state=ready]")
    assert await page.locator("#operations-dlq tbody tr").count() == len(status["dead_letters"]) == len(MAIN_TOPICS)
    # Without an operator's token, the page says the raw messages are kept for operators.
    assert not status["messages_shown"] and await page.locator("#operations-messages").count() == 1
    assert await page.locator("#operations-lag tbody tr").count() >= 1
    topics = await page.locator("#operations-dlq tbody tr td:first-child").all_text_contents()
    assert topics == [d["topic"] for d in status["dead_letters"]]
    sources, waiting = len(status["sources"]), sum(d["messages"] for d in status["dead_letters"])
    summary = await page.locator("#vue > p").first.text_content() or ""
    assert summary.startswith(
        f"{sources} source{'s' if sources > 1 else ''} · {waiting} message{'s' if waiting > 1 else ''}"
    )
    await no_serious_violations(page)


async def test_an_operator_pauses_resumes_and_removes_a_source_from_the_operations_page(services, page, operator):
    api = services["api"].url
    body = {"id": "ops-page", "url": "http://127.0.0.1:9/ops-page", "family": "ckan", "name": "Portail à retirer",
            "schedule": "@manual"}  # fmt: skip
    async with aiohttp.ClientSession() as http, http.post(f"{api}/api/v1/sources", json=body, headers=operator) as r:
        assert r.status == 201, await r.text()
    token = operator["Authorization"].removeprefix("Bearer ")
    await page.add_init_script(f"sessionStorage.setItem('observatoire-moderation-token', {json.dumps(token)})")
    await page.goto(f"{api}/?vue=operations")
    await page.wait_for_selector("#vue[data-view=operations][data-state=ready]")
    row = page.locator("#operations-sources tbody tr", has_text="Portail à retirer")
    assert await page.locator("#operations-messages").count() == 0  # an operator's page: messages and actions

    await row.get_by_role("button", name="Mettre en pause").click()
    await expect(page.locator("#operations-notice")).to_have_text("Portail à retirer : mise en pause.")
    await expect(row.locator("td").nth(2)).to_have_text("en pause")
    await row.get_by_role("button", name="Reprendre").click()
    await expect(row.locator("td").nth(2)).to_have_text("active")

    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))  # "Supprimer la source … ?"
    await row.get_by_role("button", name="Supprimer").click()
    await expect(row.locator("td").nth(2)).to_contain_text("supprimée le")
    await expect(row.get_by_role("button", name="Supprimer")).to_have_count(0)
    async with aiohttp.ClientSession() as http, http.get(f"{api}/api/v1/sources/ops-page/changes") as r:
        changes = (await r.json())["data"]
    assert [c["action"] for c in changes] == ["paused", "resumed", "removed"]
    await no_serious_violations(page)


async def test_a_single_council_counts_in_every_territory_it_serves_on_its_page_and_in_the_tables(
    seeded, services, settings, page
):
    # The Collectivité européenne d'Alsace publishes (its datasets join its Bas-Rhin row, the council's).
    event = discovered("cea-1", Publisher(name="Collectivité européenne d'Alsace"), source_id="browser-cea",
                       portal_url="https://data.alsace.test")  # fmt: skip
    await publish(
        settings, event.model_copy(update={"resources": [Resource(url="https://f.test/cea.csv", format="csv")]})
    )

    async def haut_rhin():
        values = (await api_json(services, "/api/v1/indicators", scope="departement", id="68"))["data"][0]["values"]
        return values if values.get("datasets") else None

    values = await wait_for(haut_rhin, timeout=90)
    assert values["obligated_publishing"] >= 1 and values["coverage_rate"] == 1.0  # the CeA covers the Haut-Rhin
    # The charts' table of départements counts as the indicators do: the council once, publishing there.
    groups = {g["key"]: g for g in (await api_json(services, "/api/v1/organizations/stats", by="departement"))["data"]}
    assert (groups["68"]["obligated"], groups["68"]["obligated_publishing"]) == (
        values["obligated"], values["obligated_publishing"])  # fmt: skip
    assert groups["68"]["publishing"] == values["organizations_publishing"]

    # The Haut-Rhin's page says which assembly it is and where it counts.
    await page.goto(f"{services['api'].url}/?vue=organisation&organisation=DEP-68")
    note = page.locator("#conseil")
    await expect(note).to_contain_text("Conseil unique")
    assert await note.get_by_role("link").all_text_contents() == ["Bas-Rhin (67)", "Haut-Rhin (68)"]
    await no_serious_violations(page)


async def test_the_platforms_view_shows_each_platform_and_the_organisations_it_hosts(seeded, services, page, operator):
    api = services["api"].url
    # Quimper's datasets came from source "browser" at this address: registered as the portal it is.
    body = {"id": "browser", "url": "https://data.quimper.test", "family": "udata", "name": "Portail de Quimper",
            "schedule": "@manual", "data_requests_url": "https://data.quimper.test/demandes"}  # fmt: skip
    async with aiohttp.ClientSession() as http, http.post(f"{api}/api/v1/sources", json=body, headers=operator) as r:
        assert r.status == 201, await r.text()
    listed = await api_json(services, "/api/v1/platforms")
    quimper = next(p for p in listed["data"] if p["source_id"] == "browser")
    assert (quimper["organizations_hosted"], quimper["datasets"], quimper["typology"]) == (1, 2, "dedie")

    await page.goto(f"{api}/?vue=platforms")
    await page.wait_for_selector("#vue[data-view=platforms][data-state=ready]")
    assert await page.locator("nav.views a[aria-current=page]").text_content() == "Plateformes"
    assert await page.locator("#plateformes tbody tr").count() == listed["total"]
    row = page.locator("#plateformes tbody tr", has_text="Portail de Quimper")
    cells = [c.strip() for c in await row.locator("td").all_text_contents()]
    assert cells == ["udata (data.gouv.fr)", "Dédiée", "1", "2", "moissonnée", "Demander des données"]
    assert await row.get_by_role("link", name="Demander des données").get_attribute("href") == (
        "https://data.quimper.test/demandes"
    )
    asking = listed["with_data_requests"]
    assert asking >= 1
    await expect(page.locator("#plateformes-resume")).to_contain_text(f"{asking} plateforme")

    # The bars say the nation's platform indicators, as the API computed them.
    national = (await api_json(services, "/api/v1/indicators"))["data"][0]["values"]
    typologies = await page.locator("#par-typologie tbody tr").all_text_contents()
    dedicated = national["platform_typology:dedie"]
    assert any(t.startswith("Dédiée") and f"{dedicated} plateforme" in t for t in typologies), typologies
    await expect(page.locator("#plateformes-resume")).to_contain_text(
        f"{national['organizations_on_shared_platforms']} organisation"
    )

    # The organisations it hosts open under its row, each a way to its page.
    await row.get_by_role("button", name="1").click()
    hosted = page.get_by_role("list", name="Organisations hébergées par Portail de Quimper")
    await expect(hosted.locator("li")).to_have_count(1)
    await expect(hosted).to_contain_text("Quimper (Commune, 29) : 2 jeux")
    await no_serious_violations(page)
    await hosted.get_by_role("link", name="Quimper").click()
    await page.wait_for_selector("#vue[data-view=organisation]")
    assert "organisation=" in page.url


async def test_the_organisation_page_lists_the_reuses_and_the_audience_of_its_datasets(
    seeded, services, settings, page
):
    # A map on the portal of Quimper's datasets, made with its first dataset.
    reuse = ReuseDiscovered(
        producer="test", run_id="browser", source_id="browser", portal_url="https://data.quimper.test",
        remote_id="carte-velo", title="Carte des stations vélo", type="visualization",
        url="https://carte.quimper.test/", remote_url="https://data.quimper.test/reuses/carte-velo/", datasets=["qp-1"],
    )  # fmt: skip
    await produce(settings, "harvest.reuses", reuse.model_dump_json().encode(), key=reuse.key().encode())
    # What its portal counts of its two datasets (udata's counters).
    measured = AudienceMeasured(
        producer="test", run_id="browser", source_id="browser", counted_by="udata",
        measured_at=datetime(2026, 11, 30, 23, tzinfo=UTC),
        records={"qp-1": {"views": 12, "downloads": 5}, "qp-2": {"views": 30}},
    )  # fmt: skip
    await produce(settings, "harvest.audience", measured.model_dump_json().encode(), key=measured.key().encode())

    async def counted():
        card = await api_json(services, f"/api/v1/organizations/{seeded['id']}")
        return card if card["indicators"].get("reuses") == 1 and card["audience"] else None

    await wait_for(counted, timeout=60)
    await page.goto(f"{services['api'].url}/?vue=organisation&organisation={seeded['id']}")
    await page.wait_for_selector("#vue[data-view=organisation][data-state=ready]")
    assert await page.text_content("#org-reuses") == "1"
    items = page.locator("#org-reuses-list li")
    assert await items.all_text_contents() == [
        "Carte des stations vélo · Visualisation · 1 jeu utilisé · sa page sur le portail"
    ]
    assert await items.get_by_role("link", name="Carte des stations vélo").get_attribute("href") == (
        "https://carte.quimper.test/"
    )
    assert await page.locator("#org-audience li").all_text_contents() == [
        "Portails udata (dont data.gouv.fr) : 5 téléchargements, 42 vues (mesuré le 30 nov. 2026)"
    ]
    await no_serious_violations(page)


async def test_the_charts_show_entries_and_exits_per_region_since_the_edition(seeded, services, page):
    regions = (await api_json(services, "/api/v1/indicators", scope="region"))["data"]
    moved = {r["id"]: (r["values"]["entered_since_edition"], r["values"]["left_since_edition"]) for r in regions
             if r["values"].get("entered_since_edition") or r["values"].get("left_since_edition")}  # fmt: skip
    year = next(r["values"]["since_edition"] for r in regions if r["values"].get("since_edition"))
    assert moved.get("53", (0, 0))[0] >= 1  # Quimper (Bretagne) publishes since the edition of the session
    await page.goto(f"{services['api'].url}/?vue=charts")
    await page.wait_for_selector("#vue[data-view=charts][data-state=ready]")
    figure = page.locator("#entrees-sorties")
    await expect(figure.locator("figcaption")).to_have_text(f"Entrées et sorties par région (depuis l'édition {year})")
    await figure.locator("summary").click()
    rows = [await r.locator("td").all_text_contents() for r in await figure.locator("tbody tr").all()]
    assert len(rows) == len(moved)
    bretagne = next(r for r in rows if r[0] == "Bretagne")
    assert bretagne[1:3] == [str(moved["53"][0]), str(moved["53"][1])]
    await no_serious_violations(page)
