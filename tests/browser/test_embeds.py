"""What other sites embed, in Debian's Chromium: an organisation's and a territory's card framed by
another page under their strict Content-Security-Policy (styled, no script, nothing refused, no
request elsewhere), the SVG badge, the codes to copy on the organisation page, and any filtered view
shown alone with `embed=1`; axe finds no serious violation."""

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from shared.events import Publisher, Resource
from tests.support.api import commune
from tests.support.events import discovered, publish
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration

AXE = (Path(__file__).parents[2] / "frontend/node_modules/axe-core/axe.min.js").read_text()
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
async def guingamp(referentiel, services, settings) -> dict:
    """Guingamp publishes three more datasets (`datasets`: how many it has then). A commune no other
    test publishes for: their counts are exact."""
    api = services["api"].url
    async with aiohttp.ClientSession() as http:
        guingamp = await commune(http, api, "guingamp")
        expected = guingamp["datasets"] + 3
        publisher = Publisher(name="Ville de Guingamp", siren=guingamp["siren"])
        for n in (1, 2, 3):
            event = discovered(f"gg-{n}", publisher, portal_url="https://data.guingamp.test", source_id="embeds")
            # Files of its own: two datasets with the same files are one dataset (identity rules).
            files = [Resource(url=f"https://files.guingamp.test/{n}.csv", format="csv")]
            await publish(settings, event.model_copy(update={"resources": files}))

        async def counted() -> bool:
            return bool((await commune(http, api, "guingamp"))["datasets"] == expected)

        await wait_for(counted, timeout=90)
    return {**guingamp, "datasets": expected}


@pytest.fixture
async def page(browser: Browser, services) -> AsyncIterator[Page]:
    """A page that records every request and every message the console gets (CSP refusals among them)."""
    context = await browser.new_context(locale="fr-FR")
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = await context.new_page()
    page.set_default_timeout(20_000)
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.messages = messages  # type: ignore[attr-defined]
    yield page
    await context.close()
    outside = [url for url in requested if urlsplit(url).hostname not in LOCAL_HOSTS and not url.startswith("data:")]
    assert outside == [], f"requests left localhost: {outside[:5]}"


async def no_serious_violations(page: Page) -> None:
    """axe, evaluated by the browser's debugger: a script tag would be refused by the card's policy."""
    result = await page.evaluate(f"{AXE}; axe.run(document, {{runOnly: ['wcag2a', 'wcag2aa']}})")
    serious = [(v["id"], len(v["nodes"])) for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


async def test_an_organisation_card_framed_by_another_page_is_styled_under_its_strict_policy(guingamp, services, page):
    api = services["api"].url
    card_url = f"{api}/embed/organisations/{guingamp['siren']}"  # any id it is known by
    host = (
        f'<!doctype html><html lang="fr"><title>Autre site</title><iframe src="{card_url}" title="Guingamp"></iframe>'
    )
    async with another_site(host) as address:
        await page.goto(address)
        await check_framed_card(page, guingamp)
    async with aiohttp.ClientSession() as http, http.get(card_url) as response:
        policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "frame-ancestors *" in policy
    await page.goto(card_url)
    await no_serious_violations(page)


async def check_framed_card(page: Page, guingamp: dict) -> None:
    frame = page.frame_locator("iframe")
    await expect(frame.locator("h1")).to_have_text(guingamp["name"])
    await expect(frame.locator(".chiffre strong")).to_have_text(str(guingamp["datasets"]))
    await expect(frame.locator(".chiffre")).to_contain_text("jeux de données ouverts")
    border = await frame.locator(".carte").evaluate("e => getComputedStyle(e).borderTopLeftRadius")
    assert border == "8px"  # the card's own stylesheet, allowed by style-src 'self'
    link = frame.get_by_role("link", name="Voir sur l'Observatoire de l'open data des territoires")
    assert f"organisation={guingamp['id']}" in (await link.get_attribute("href") or "")
    assert [m for m in page.messages if "Content Security Policy" in m] == []  # type: ignore[attr-defined]


@asynccontextmanager
async def another_site(html: str) -> AsyncIterator[str]:
    """Another origin (its own port) serving one page: the site that embeds."""
    app = web.Application()

    async def home(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app.router.add_get("/", home)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


async def test_a_territory_card_and_the_badge(guingamp, services, page):
    api = services["api"].url
    await page.goto(f"{api}/embed/territoires/departement/56")
    await expect(page.locator("h1")).to_contain_text("Morbihan")
    await expect(page.locator("dl")).to_contain_text("Organisations qui publient")
    await no_serious_violations(page)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api}/embed/organisations/{guingamp['id']}/badge.svg") as response:
            assert response.content_type == "image/svg+xml"
            svg = ET.fromstring(await response.text())
        async with http.get(f"{api}/embed/territoires/departement/99") as missing:
            assert missing.status == 404
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["open data", f"{guingamp['datasets']} jeux de données ouverts"]


async def test_the_organisation_page_gives_the_codes_to_copy(guingamp, services, page):
    api = services["api"].url
    await page.goto(f"{api}/?vue=organisation&organisation={guingamp['id']}")
    card_code = await page.locator("#code-carte").input_value()
    assert f'src="{api}/embed/organisations/{guingamp["id"]}"' in card_code and card_code.startswith("<iframe")
    badge_code = await page.locator("#code-badge").input_value()
    assert f"{api}/embed/organisations/{guingamp['id']}/badge.svg" in badge_code
    feed = page.get_by_role("link", name="Suivre ses nouveaux jeux de données, ses retraits et ses seuils franchis")
    async with aiohttp.ClientSession() as http, http.get(f"{api}{await feed.get_attribute('href')}") as response:
        assert response.content_type == "application/atom+xml" and b"Nouveau jeu de donn" in await response.read()
    badge = page.get_by_alt_text(f"Badge de {guingamp['name']}")
    await expect(badge).to_be_visible()
    assert await badge.evaluate("img => img.naturalWidth") > 100


async def test_a_filtered_view_shows_alone_with_embed_1_and_offers_its_code(guingamp, services, page):
    api = services["api"].url
    await page.goto(f"{api}/?type=DEP&region=53&vue=table")
    await page.get_by_text("Intégrer cette vue sur un autre site").click()
    territory = page.get_by_role("link", name="Suivre ce territoire (flux Atom)")
    assert await territory.get_attribute("href") == "/api/v1/feeds/territories/region/53.atom"
    code = await page.locator("#code-vue").input_value()
    assert "type=DEP" in code and "region=53" in code and "embed=1" in code
    embedded = code.split('src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    await page.goto(embedded)
    await expect(page.locator("table.organisations tbody th")).to_have_count(4)
    await expect(page.locator(".banner")).to_be_hidden()
    await expect(page.locator("nav.views")).to_be_hidden()
    assert "embed=1" in page.url
    await no_serious_violations(page)

    # The map, the same way: its legend and classes, without the site's frame.
    await page.goto(f"{api}/?vue=map&region=53&embed=1")
    await page.wait_for_selector("#vue[data-state=ready]")
    await expect(page.locator("#legende-classes li").first).to_be_visible()
    await expect(page.locator(".banner")).to_be_hidden()
