"""Screenshots of the front end at desktop and phone sizes, from a running Observatoire (`make demo`).

    PYTHONPATH=. .venv/bin/python docs/screenshots/take.py [--url http://127.0.0.1:8000]

Writes `<view>-desktop.png` and `<view>-phone.png` beside this file for the home page, the table, the
map, an organisation's page and the charts, in Debian's Chromium. Each view is taken once it says it
is drawn (`#vue[data-state=ready]`).
"""

import argparse
import asyncio
import json
import urllib.request
from pathlib import Path

from playwright.async_api import async_playwright

from tests.support.browser import ARGS, CHROMIUM

HERE = Path(__file__).parent
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 740}}


def publishing_organisation(url: str) -> str:
    """The organisation with the most datasets: its page has something to show."""
    query = f"{url}/api/v1/organizations?sort=-datasets&page_size=1"
    with urllib.request.urlopen(query, timeout=30) as answer:
        return str(json.load(answer)["data"][0]["id"])


async def take(url: str) -> list[Path]:
    organisation = publishing_organisation(url)
    views = {
        "accueil": "/",
        "tableau": "/?vue=table&type=COM&publishes=true&tri=-datasets",
        "carte": "/?vue=map",
        "organisation": f"/?vue=organisation&organisation={organisation}",
        "graphiques": "/?vue=charts",
    }
    written = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for size, viewport in SIZES.items():
            context = await browser.new_context(viewport=viewport, locale="fr-FR", is_mobile=size == "phone")  # type: ignore[arg-type]
            page = await context.new_page()
            for name, path in views.items():
                await page.goto(url + path)
                await page.wait_for_selector("#vue[data-state=ready]", timeout=60_000)
                await page.wait_for_timeout(500)  # map tiles of points and chart transitions settle
                target = HERE / f"{name}-{size}.png"
                await page.screenshot(path=str(target), full_page=size == "desktop" and name != "carte")
                written.append(target)
            await context.close()
        await browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    for path in asyncio.run(take(parser.parse_args().url.rstrip("/"))):
        print(path.relative_to(HERE.parents[1]))


if __name__ == "__main__":
    main()
