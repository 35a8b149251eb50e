"""Contributing and moderating in Debian's Chromium: the form on an organisation's page, the
moderation page with a token, the accepted value on the organisation's page within seconds; markup
and scripts typed into every field stay text everywhere they are shown."""

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Dialog, Page, expect

from shared.events import Publisher
from tests.browser.test_frontend import no_serious_violations
from tests.support.contributions import known_to_contributions, organisation
from tests.support.events import discovered, publish
from tests.support.kafka import wait_for
from tests.support.processes import run_module

pytestmark = pytest.mark.integration

# Each one would set window.__xss (or open a dialog) if it were ever parsed as markup or script.
ATTACKS = [
    '<img src=x onerror="window.__xss=1">',
    '"><script>window.__xss=2</script>',
    "<svg onload=window.__xss=3>",
    "javascript:window.__xss=4",
]


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(locale="fr-FR")
    page = await context.new_page()
    page.set_default_timeout(20_000)
    dialogs: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    yield page
    assert await page.evaluate("window.__xss") is None, "contributed text ran as script"
    assert dialogs == []
    await context.close()


@pytest.fixture(scope="module")
async def token(services, settings) -> str:
    return (await run_module(settings, "services.contributions", "tokens", "create", "--role", "moderator",
                             "--name", "Modération navigateur")).strip()  # fmt: skip


async def commune(services, name: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        return await organisation(http, services["api"].url, name)


async def unmatched(api: str, portal: str) -> tuple[int, dict[str, Any]]:
    """The publisher listed as unmatched for `portal`, once it is, and the page of the publishers'
    view that shows it (20 a page, most seen first)."""
    async with aiohttp.ClientSession() as http:

        async def found() -> tuple[int, dict[str, Any]] | None:
            async with http.get(f"{api}/api/v1/publishers/unmatched", params={"page_size": 200}) as response:
                listed = (await response.json())["data"]
            index = next((i for i, p in enumerate(listed) if p["portal_url"] == portal), None)
            return None if index is None else (index // 20 + 1, listed[index])

        return await wait_for(found, timeout=30)  # type: ignore[no-any-return]


async def test_a_correction_proposed_in_the_page_is_moderated_and_shown(referentiel, services, settings, page, token):
    api = services["api"].url
    vitre = await commune(services, "Vitré")
    await known_to_contributions(settings, vitre["id"])
    await page.goto(f"{api}/?vue=organisation&organisation={vitre['id']}")
    await page.wait_for_selector("#vue[data-state=ready]")
    form = page.locator("form.contribution")
    # The current value is in view; a mistake is said beside the field, in French, before anything is sent.
    assert await form.locator(".current").text_content() == "Valeur actuelle : Vitré"
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    await form.get_by_role("button", name="Envoyer la proposition").click()
    await expect(form.locator(".problem")).to_have_text("Indiquez la valeur proposée.")
    await form.get_by_label("Information").select_option("population")
    assert await form.locator(".current").text_content() == f"Valeur actuelle : {vitre['population']:,}".replace(
        ",", "\u202f"
    )
    await form.get_by_label("Valeur proposée").fill("99999999")
    await form.get_by_role("button", name="Envoyer la proposition").click()
    await expect(form.locator(".problem")).to_have_text("Un nombre entier d'habitants, au plus 3 000 000.")
    assert sent == []

    await form.get_by_label("Information").select_option("contact_url")
    await form.get_by_label("Valeur proposée").fill("https://www.vitre.bzh/contact")
    await form.get_by_label("Commentaire ou source (facultatif)").fill(ATTACKS[0])
    await form.get_by_role("button", name="Envoyer la proposition").click()
    reference = await form.locator("a.reference").text_content()
    assert reference and len(reference) == 36
    await no_serious_violations(page)
    # The reference opens a page that says where the proposal stands, in words.
    await form.locator("a.reference").click()
    await page.wait_for_selector("#vue[data-view=suivi][data-state=ready]")
    assert await page.locator("#suivi-statut").text_content() == "En attente de relecture"
    await no_serious_violations(page)

    await page.goto(f"{api}/?vue=moderation")
    await page.get_by_label("Jeton de modération").fill(token)
    await page.get_by_role("button", name="Afficher").click()
    proposal = page.locator(f"article.proposal[data-id='{reference}']")
    await proposal.wait_for()
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{api}/api/v1/contributions",
            params={"status": "pending", "page_size": 1},
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        pending = (await response.json())["total"]
    assert pending <= 100  # one page: the summary is the count alone
    summary = await page.locator("#moderation-queue > p").first.text_content()
    assert summary == f"{pending} proposition{'s' if pending > 1 else ''}"
    assert await proposal.locator("dd.proposed").text_content() == "https://www.vitre.bzh/contact"
    assert ATTACKS[0] in (await proposal.text_content() or "")  # shown as the characters typed
    await no_serious_violations(page)
    await proposal.get_by_label("Commentaire de décision").fill(ATTACKS[1])
    await proposal.get_by_role("button", name="Accepter").click()
    await proposal.wait_for(state="detached")  # the queue shows pending proposals: it left

    async def contact() -> str | None:
        async with aiohttp.ClientSession() as http, http.get(f"{api}/api/v1/organizations/{vitre['id']}") as response:
            return (await response.json()).get("contact_url")  # type: ignore[no-any-return]

    assert await wait_for(contact, timeout=20) == "https://www.vitre.bzh/contact"


async def test_a_publisher_with_homonyms_is_linked_by_choosing_one_of_its_candidates(
    referentiel, services, settings, page, token
):
    """Two communes are named Buxerolles: the publishers' page tells them apart and one click on the
    right one fills its SIREN into the proposal. The list has pages: the publisher is found on its own."""
    api, portal = services["api"].url, "http://buxerolles.test"
    await publish(settings, discovered("bx-1", Publisher(name="Buxerolles"), portal_url=portal))
    number, publisher = await unmatched(api, portal)
    assert sorted(c["departement"] for c in publisher["candidates"]) == ["21", "86"]
    vienne = next(c for c in publisher["candidates"] if c["departement"] == "86")
    await known_to_contributions(settings, vienne["organization_id"])

    await page.goto(f"{api}/?vue=publishers&page={number}")
    await page.wait_for_selector("#vue[data-view=publishers][data-state=ready]")
    item = page.locator("table.publishers tbody tr").filter(has_text="buxerolles.test")
    await item.get_by_text("Rattacher", exact=True).click()  # each row opens its own form
    assert await item.locator("ul.candidates li").all_text_contents() == [
        f"Buxerolles (Commune, {c['departement']}) · SIREN {c['organization_id']} Choisir"
        for c in publisher["candidates"][:5]
    ]
    await item.get_by_role("button", name="Choisir Buxerolles (Commune, 86)").click()
    assert await item.get_by_label("SIREN ou SIRET de l'organisation").input_value() == vienne["organization_id"]
    await item.get_by_role("button", name="Envoyer la proposition").click()
    reference = await item.locator("a.reference").text_content()
    # The list is searched by name or portal, from the first page.
    await page.fill("#editeurs-recherche", "buxerolles.test")
    await page.wait_for_url("**editeur=buxerolles.test**")
    await expect(page.locator("table.publishers tbody tr")).to_have_count(1)
    # The filters and downloads of organisations are not of this page; back on the table they are.
    assert not await page.is_visible("#telechargements") and not await page.is_visible("#filtres")
    await no_serious_violations(page)
    await page.get_by_role("link", name="Tableau").click()
    await page.wait_for_selector("#vue[data-view=table][data-state=ready]")
    assert await page.is_visible("#telechargements") and await page.is_visible("#f-type")

    queue = {"status": "pending", "field": "publisher", "page_size": 200}
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{api}/api/v1/contributions", params=queue, headers=headers) as response,
    ):
        proposals = {p["id"]: p for p in (await response.json())["data"]}
    assert proposals[reference]["field"] == "publisher"
    assert proposals[reference]["value"] == vienne["organization_id"]


async def test_contributed_markup_stays_text_everywhere(referentiel, services, settings, page, token):
    """Names, comments and publishers carrying markup, accepted, then shown by the table, the cards,
    the organisation page, the publishers' list and the moderation page."""
    api = services["api"].url
    fougeres = await commune(services, "Fougères")
    await known_to_contributions(settings, fougeres["id"])
    hostile = f"Fougères {ATTACKS[2]}"
    publisher = Publisher(name=f"Éditeur {ATTACKS[1]}")
    await publish(settings, discovered("xss-1", publisher, portal_url="http://xss.test"))
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {token}"}
        bodies = (
            {"organization_id": fougeres["id"], "field": "name", "value": hostile, "comment": ATTACKS[3]},
            {"organization_id": fougeres["id"], "field": "website", "value": "https://fougeres.test/"},
        )
        for body in bodies:
            async with http.post(f"{api}/api/v1/contributions", json=body) as response:
                proposal = await response.json()
                assert response.status == 201, proposal
            async with http.post(f"{api}/api/v1/contributions/{proposal['id']}/accept", headers=headers,
                                 json={"comment": ATTACKS[0]}) as response:  # fmt: skip
                assert response.status == 200

        async def renamed():
            async with http.get(f"{api}/api/v1/organizations/{fougeres['id']}") as response:
                return (await response.json())["name"] == hostile

        await wait_for(renamed, timeout=20)
    number, _ = await unmatched(api, "http://xss.test")

    for view in ("", "?vue=cards", f"?vue=organisation&organisation={fougeres['id']}"):
        query = f"{view}{'&' if view else '?'}q=Foug%C3%A8res&type=COM" if "organisation=" not in view else view
        await page.goto(f"{api}/{query}")
        await page.wait_for_function(f"document.querySelector('#vue').textContent.includes({hostile!r})")
    await page.goto(f"{api}/?vue=publishers&page={number}")
    await page.wait_for_selector("#vue[data-state=ready]")
    assert await page.get_by_role("rowheader", name=publisher.name, exact=True).count() == 1
    await no_serious_violations(page)
    await page.goto(f"{api}/?vue=moderation")
    await page.get_by_label("Jeton de modération").fill(token)
    await page.get_by_label("Propositions").select_option("accepted")
    await page.wait_for_function(f"document.querySelector('#moderation-queue').textContent.includes({hostile!r})")
    assert await page.locator("#vue script, #vue img, #vue svg[onload]").count() == 0
