"""How the search box's text is read: a trailing département code narrows the place."""

import pytest

from services.api.search import read_search


@pytest.mark.parametrize(
    ("typed", "place", "departement"),
    [
        ("Rennes 35", "rennes", "35"),
        ("Saint Denis 93", "saint denis", "93"),
        ("saint-denis 974", "saint denis", "974"),
        ("Ajaccio 2a", "ajaccio", "2A"),
        ("Nouméa 988", "noumea", "988"),
        ("Rennes", None, None),
        ("35", None, None),  # a code alone is not a place in it
        ("Paris 15e", None, None),
        ("Marseille 13e arrondissement", None, None),
        ("Ligne 96", None, None),  # 96 is no département
        ("213502388", None, None),
    ],
)
def test_a_trailing_departement_code_narrows_the_place(typed, place, departement):
    search = read_search(typed)
    assert (search.place, search.departement) == (place, departement)
    assert search.typed == typed.strip()


def test_the_text_is_normalised_as_the_registry_s_names_are():
    assert read_search("  Saint-Étienne ").text == "saint etienne"
