"""What a visitor types in the search box, read as the registry's terms.

"Rennes 35" and "Saint Denis 93" name a place and its département: the trailing code narrows the
search to that département (the whole text is still searched too, for names that end in a number).
A SIREN or an INSEE code typed alone finds its organisation. Results are ranked as people expect:
the exact name first, then names that start with the text, then names with a word that does, each
group by population (the city before the hamlet of the same name).
"""

import re
from dataclasses import dataclass

from shared.matching import normalise

# Codes of départements and overseas collectivités (2A, 2B, 971-978, 986-988), as typed after a name.
DEPARTEMENT_CODE = re.compile(r"^(?:0[1-9]|[1-8]\d|9[0-5]|2a|2b|97[1-8]|98[6-8])$")


@dataclass(frozen=True)
class Search:
    typed: str  # as typed, trimmed: an id, a SIREN or an INSEE code is compared as it is
    text: str  # normalised words (lower case, no accents)
    place: str | None  # the text before a trailing département code
    departement: str | None  # that code, upper case


def read_search(q: str) -> Search:
    """The terms of a search: 'Rennes 35' -> text 'rennes 35', place 'rennes', département '35'."""
    typed = q.strip()
    text = normalise(typed)
    head, _, last = text.rpartition(" ")
    if head and DEPARTEMENT_CODE.match(last):
        return Search(typed, text, head, last.upper())
    return Search(typed, text, None, None)
