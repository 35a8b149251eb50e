"""Which member communes an intercommunality's dataset is about, from the words of its title (ODF's
cooperation: an EPCI publishing for its communes). No spatial coverage is harvested yet, so the title
is the only witness; the rules below keep it from seeing a commune where there is none."""

from collections.abc import Iterable

from shared.matching import normalise

SHORTEST_NAME = 3  # letters: "Eu" or "Y" would be found in too many titles


def communes_named(title: str, epci_name: str, members: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The ids of the `members` (id, name) whose whole name is in the title, as words, once the
    intercommunality's own name is taken out ("Rennes Métropole" names no commune of its own). A
    name inside a longer member's name found in the title does not count ("Saint-Malo" in
    "Saint-Malo-de-Phily")."""
    text = f" {normalise(title)} "
    own = normalise(epci_name)
    if own:
        text = text.replace(f" {own} ", " ")
    found = [(mid, name) for mid, name in ((m, normalise(n)) for m, n in members)
             if len(name.replace(" ", "")) >= SHORTEST_NAME and f" {name} " in text]  # fmt: skip
    longer = [name for _, name in found]
    return tuple(sorted(mid for mid, name in found if not any(name != other and f" {name} " in f" {other} "
                                                              for other in longer)))  # fmt: skip
