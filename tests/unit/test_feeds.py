"""The Atom feeds' pure parts: the thresholds crossed between two days, and the document."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from services.api.feeds import ATOM, Crossing, Entry, atom_feed, crossings


def test_a_threshold_is_crossed_when_two_consecutive_days_fall_on_either_side_of_it():
    series = [
        ("2026-11-01", {"opening_rate": 0.24, "open_format_share": 0.5}),
        ("2026-11-02", {"opening_rate": 0.26, "open_format_share": 0.5}),  # up past 25 %; 50 % stays
        ("2026-11-03", {"opening_rate": 0.76, "open_format_share": None}),  # past 50 and 75 %; None: no reading
        ("2026-11-04", {"opening_rate": 0.74, "open_format_share": 0.49}),  # back under 75 %
    ]
    assert crossings(series) == [
        Crossing("2026-11-02", "opening_rate", 0.25, upward=True),
        Crossing("2026-11-03", "opening_rate", 0.5, upward=True),
        Crossing("2026-11-03", "opening_rate", 0.75, upward=True),
        Crossing("2026-11-04", "opening_rate", 0.75, upward=False),
    ]
    assert Crossing("2026-11-02", "opening_rate", 0.25, upward=True).title() == "Le taux d'ouverture dépasse 25 %"
    assert crossings(series[:1]) == [] and crossings([]) == []


def test_the_feed_is_atom_with_its_newest_entry_first():
    older = Entry("https://o.test/e/1", "Nouveau jeu de données : Budget", datetime(2026, 11, 1, tzinfo=UTC),
                  "https://o.test/?vue=table", "Budget & comptes <2026>")  # fmt: skip
    newer = Entry("https://o.test/e/2", "Jeu de données retiré : Budget", datetime(2026, 11, 2, tzinfo=UTC),
                  "https://o.test/?vue=table", "retiré")  # fmt: skip
    feed = ET.fromstring(atom_feed("https://o.test/feed.atom", "Rennes : open data", "https://o.test/", [older, newer]))
    ns = {"a": ATOM}
    assert feed.tag == f"{{{ATOM}}}feed"
    assert feed.findtext("a:id", namespaces=ns) == "https://o.test/feed.atom"
    assert feed.findtext("a:updated", namespaces=ns) == "2026-11-02T00:00:00+00:00"
    assert feed.find("a:author/a:name", ns) is not None
    entries = feed.findall("a:entry", ns)
    assert [e.findtext("a:id", namespaces=ns) for e in entries] == ["https://o.test/e/2", "https://o.test/e/1"]
    assert entries[1].findtext("a:summary", namespaces=ns) == "Budget & comptes <2026>"  # escaped, read back
    assert all(e.find("a:link", ns) is not None and e.findtext("a:title", namespaces=ns) for e in entries)
