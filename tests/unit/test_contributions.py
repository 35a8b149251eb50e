"""The contributions service's pure parts: what a proposal may say, and the per-client limit."""

import pytest

from services.contributions.proposals import Invalid, ProposalIn, check_value, current_value, siren_of, web_url
from shared.proxies import client_address, trusted_networks


def test_sirens_and_sirets_are_checked_by_their_luhn_key():
    assert siren_of("215 601 659") == "215601659"  # as people type it
    assert siren_of("21560165900018") == "215601659"  # a SIRET names its SIREN
    for wrong, reason in (("215601650", "SIREN n'est pas valide"), ("21560165900019", "SIRET n'est pas valide"),
                          ("2156016", "9 chiffres"), ("", "9 chiffres"), ("21560165A", "9 chiffres")):  # fmt: skip
        with pytest.raises(Invalid, match=reason):
            siren_of(wrong)


def test_only_web_addresses_are_urls():
    assert web_url(" https://data.ville.fr/ ") == "https://data.ville.fr/"
    for wrong in ("javascript:alert(1)", "data:text/html,<script>", "ftp://x.fr", "https://", "http://a b.fr", 42):
        with pytest.raises(Invalid):
            web_url(wrong)


def test_each_field_checks_its_value():
    organisation = {"organization_id": "215601659"}
    assert check_value(ProposalIn(field="agents", value="60", **organisation)) == 60
    assert check_value(ProposalIn(field="portal", value={"url": "https://d.fr", "technology": "ckan"},
                                  **organisation)) == {"url": "https://d.fr", "technology": "ckan"}  # fmt: skip
    assert check_value(ProposalIn(field="licence", value="odbl", dataset_id="d1", **organisation)) == "odbl"
    menus = {"title": "Menus", "url": "https://ville.fr/menus"}
    assert check_value(ProposalIn(field="dataset", value=menus, **organisation)) == menus
    publisher = {"portal_url": "https://p.fr", "name": "SIG"}
    assert check_value(ProposalIn(field="publisher", value="21560165900018", publisher=publisher)) == "215601659"
    refused = [
        ProposalIn(field="agents", value=True, **organisation),  # a boolean is not a count
        ProposalIn(field="population", value=5_000_000, **organisation),
        ProposalIn(field="status", value="active", **organisation),  # not an allowed field
        ProposalIn(field="title", value="Titre", **organisation),  # a dataset's field without the dataset
        ProposalIn(field="name", value="x\x00y", **organisation),
        ProposalIn(field="name", value="Nom"),  # no target
        ProposalIn(field="publisher", value="215601659"),  # no publisher
        ProposalIn(field="name", value="Nom", publisher=publisher, **organisation),
        ProposalIn(field="portal", value={"url": "https://d.fr"}, **organisation),
        ProposalIn(field="dataset", value={"title": "Menus"}, **organisation),
        ProposalIn(field="dataset", value={**menus, "licence": "libre"}, **organisation),
        ProposalIn(field="dataset", value={**menus, "resources": []}, **organisation),
    ]
    for proposal in refused:
        with pytest.raises(Invalid):
            check_value(proposal)


def test_moderators_see_the_current_value():
    organisation = {"name": "Lorient", "website": None, "obligation": {"agents": 900}}
    assert current_value("agents", organisation, None) == 900
    assert current_value("name", organisation, None) == "Lorient"
    assert current_value("title", organisation, {"title": "Budget"}) == "Budget"
    assert current_value("name", None, None) is None


def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy():
    trusted = trusted_networks("127.0.0.1, ::1, 10.89.0.0/24")
    # Anyone else is its own address, whatever it claims.
    assert client_address("198.51.100.9", "203.0.113.7", trusted) == "198.51.100.9"
    assert client_address("198.51.100.9", "", trusted) == "198.51.100.9"
    # The api (trusted) names the client; behind a reverse proxy of the compose network, the proxy does.
    assert client_address("127.0.0.1", "203.0.113.7", trusted) == "203.0.113.7"
    assert client_address("10.89.0.5", "203.0.113.7, 10.89.0.9", trusted) == "203.0.113.7"
    # What the client itself wrote before the proxies is not believed: the last untrusted hop is.
    assert client_address("127.0.0.1", "1.2.3.4, 203.0.113.7", trusted) == "203.0.113.7"
    assert client_address("127.0.0.1", "not-an-address", trusted) == "not-an-address"
    assert client_address(None, "", trusted) == "unknown"
