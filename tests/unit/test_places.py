"""Which member communes an intercommunality's dataset names: titles written as portals write them."""

from services.indicators.places import communes_named

MEMBERS = [("35238", "Rennes"), ("35047", "Bruz"), ("35281", "Saint-Jacques-de-la-Lande"), ("35240", "Le Rheu"),
           ("35255", "Saint-Malo"), ("35256", "Saint-Malo-de-Phily"), ("35999", "Eu")]  # fmt: skip


def named(title: str, epci: str = "Rennes Métropole") -> tuple[str, ...]:
    return communes_named(title, epci, MEMBERS)


def test_a_member_named_in_the_title_is_found_whatever_the_accents_case_and_hyphens():
    assert named("Horaires des piscines de BRUZ") == ("35047",)
    assert named("Plan local d'urbanisme - Saint Jacques de la Lande (2024)") == ("35281",)
    assert named("Budget primitif : le rheu, bruz") == ("35047", "35240")


def test_the_intercommunality_s_own_name_names_none_of_its_communes():
    assert named("Budget de Rennes Métropole 2025") == ()
    assert named("Rennes Métropole : collecte des déchets à Rennes") == ("35238",)


def test_a_name_inside_a_word_or_a_longer_name_is_not_a_commune():
    assert named("Bruzelles, quartier imaginaire") == ()
    assert named("Écoles de Saint-Malo-de-Phily") == ("35256",)
    assert named("Les eaux du bassin") == ()  # "Eu" is too short to be told from a word


def test_a_title_naming_no_member_names_none():
    assert named("Comptage vélo - Vitré") == ()
