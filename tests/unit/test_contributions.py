"""The contributions service's pure parts: what a proposal may say, and the per-client limit."""

import pytest

from services.contributions.abuse import RateLimiter
from services.contributions.proposals import Invalid, ProposalIn, check_value, current_value, siren_of, web_url


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


def test_the_rate_limit_counts_per_client_in_a_sliding_window():
    limiter = RateLimiter(limit=2, window_seconds=60)
    assert limiter.retry_after("a", now=0) == 0 and limiter.retry_after("a", now=10) == 0
    assert limiter.retry_after("a", now=20) == 40  # the first one leaves the window at 60
    assert limiter.retry_after("b", now=20) == 0  # another client is not held back
    assert limiter.retry_after("a", now=60.5) == 0  # a refused attempt is not counted
