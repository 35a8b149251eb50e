"""Poison messages and unknown schema versions go to the dead-letter topic with their error, are
counted, and the partition moves on; after a fix, `python -m shared.admin replay-dlq` brings the
dead letters back and they take effect."""

import json
import re

import pytest

from shared.events import ContributionAccepted, Publisher
from shared.identifiers import with_luhn_digit
from shared.settings import Settings
from tests.support.events import discovered, publish
from tests.support.kafka import produce, read_all, wait_for
from tests.support.processes import run_module

pytestmark = pytest.mark.integration


def accepted(organization_id: str, field: str, value: str) -> ContributionAccepted:
    return ContributionAccepted(
        producer="test", contribution_id=f"dlq-{field}-{organization_id}", organization_id=organization_id,
        field=field, value=value, moderator="test",
    )  # fmt: skip


async def test_dead_letters_let_the_partition_move_on_and_replay_after_a_fix(referentiel, services, settings: Settings,
                                                                              http):  # fmt: skip
    api = services["api"].url
    async with http.get(f"{api}/api/v1/organizations", params={"q": "Morlaix", "type": "COM"}) as response:
        morlaix = next(o for o in (await response.json())["data"] if o["name"] == "Morlaix")
    newcomer = with_luhn_digit("99887766")  # a SIREN the registry does not know yet
    key = b"dead-letter-test"  # one key: one partition, in this order
    unknown_version = json.loads(accepted(morlaix["id"], "website", "https://v99.test/").model_dump_json())
    unknown_version["schema_version"] = 99
    for value in (b"{not json", json.dumps(unknown_version).encode(),
                  accepted(newcomer, "website", "https://newcomer.test/").model_dump_json().encode(),
                  accepted(morlaix["id"], "contact_url", "https://www.ville.morlaix.test/contact").model_dump_json()
                  .encode()):  # fmt: skip
        await produce(settings, "contributions.events", value, key=key)

    async def card(organization_id: str) -> dict:
        async with http.get(f"{api}/api/v1/organizations/{organization_id}") as response:
            return await response.json() if response.status == 200 else {}

    async def contact() -> str | None:
        return (await card(morlaix["id"])).get("contact_url")

    # The last message is applied: the three before it did not block the partition.
    assert await wait_for(contact, timeout=60) == "https://www.ville.morlaix.test/contact"
    group = settings.group("consolidator", "contributions.events").encode()

    async def dead() -> list:
        records = await read_all(settings, "contributions.events.dlq", idle_ms=500)
        return [r for r in records if r.key == key and dict(r.headers).get("x-consumer-group") == group]

    letters = await wait_for(lambda: _at_least(dead, 3), timeout=60)
    errors = [dict(r.headers)["x-error-type"].decode() for r in letters]
    messages = [dict(r.headers)["x-error-message"] for r in letters]
    assert errors[:3] == ["ValidationError", "ValidationError", "ValueError"], errors
    assert b"json" in messages[0].lower() and b"schema_version" in messages[1], messages[:2]
    assert b"unknown organisation" in messages[2]
    async with http.get(f"{services['consolidator'].url}/metrics") as response:
        exported = await response.text()
    assert 'obs_events_dead_lettered_total{error_type="ValueError",topic="' in exported

    # The fix: the organisation appears (a portal publishes under its SIREN); then the replay.
    await publish(settings, discovered("dlq-fix-1", Publisher(name="Syndicat du test", siren=newcomer),
                                       portal_url="http://newcomer.test"))  # fmt: skip
    await wait_for(lambda: card(newcomer), timeout=60)
    replayed = await run_module(settings, "shared.admin", "replay-dlq", "contributions.events")
    assert int(re.search(r"replayed (\d+) message", replayed).group(1)) >= 3, replayed

    async def website() -> str | None:
        return (await card(newcomer)).get("website")

    assert await wait_for(website, timeout=60) == "https://newcomer.test/"


async def _at_least(dead, count: int) -> list | None:
    letters = await dead()
    return letters if len(letters) >= count else None
