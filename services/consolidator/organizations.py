"""From what a portal says about a publisher to an organisation of the registry.

Order of evidence: the SIREN the portal gives (udata business_number_id), then a known alias (the
portal's organisation id or publisher string). A publisher with neither stays unmatched, recorded,
never dropped; the name and territory matcher comes with the référentiel.
"""

from services.consolidator.obligation import obligation_for
from shared.events import Organization, Publisher
from shared.matching import normalise


def alias_keys(portal_url: str, publisher: Publisher) -> list[str]:
    """The aliases under which a publisher of a portal can be known, most specific first."""
    keys = []
    if publisher.remote_id:
        keys.append(f"{portal_url}#org:{publisher.remote_id}")
    keys.append(f"{portal_url}#name:{publisher.name.strip().casefold()}")
    return keys


# Bodies outside the référentiel, typed with the Observatoire's code list from words in their name.
TYPE_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("DSPT", ("sem ", "spl ", "semop", "societe", "sas ", "sa ", "delegataire", "keolis", "transdev")),
    (
        "OACT",
        (
            "office de tourisme",
            "regie",
            "ccas",
            "centre communal d action sociale",
            "agence",
            "epic",
            "etablissement public",
            "office public",
            "musee",
            "conservatoire",
            "bibliotheque",
        ),
    ),
    (
        "AGCT",
        (
            "syndicat",
            "sivom",
            "sivu",
            "smi ",
            "gip ",
            "groupement d interet public",
            "pole d equilibre",
            "pays ",
            "parc naturel",
            "entente",
            "sdis",
            "service departemental d incendie",
        ),
    ),
]


def infer_type(name: str) -> str | None:
    text = normalise(name) + " "
    for code, words in TYPE_WORDS:
        if any(text.startswith(w) or f" {w}" in f" {text}" for w in words):
            return code
    return None


def organization_from_publisher(siren: str, publisher: Publisher, portal_url: str) -> Organization:
    """A first registry entry for a body outside the référentiel, known by the SIREN a portal gave."""
    type_ = infer_type(publisher.name)
    source = f"portal:{portal_url}"
    return Organization(
        id=siren,
        siren=siren,
        name=publisher.name.strip(),
        type=type_,
        obligation=obligation_for(type_, None, None),
        provenance={"siren": source, "name": source, **({"type": "inferred-from-name"} if type_ else {})},
    )


def with_learned_siren(organization: Organization, siren: str, source: str) -> tuple[Organization, Organization]:
    """A département or région known by its COG id learns its SIREN: it is now known by the SIREN and
    its COG id stays an alias. Returns (the organisation under its new id, the old id replaced)."""
    renamed = organization.model_copy(
        update={
            "id": siren,
            "siren": siren,
            "aliases": merge_aliases(organization.aliases, [organization.id]),
            "provenance": {**organization.provenance, "siren": source},
        }
    )
    replaced = organization.model_copy(update={"status": "replaced", "successor_id": siren})
    return renamed, replaced


def merge_referentiel(current: Organization | None, listed: Organization) -> Organization:
    """The registry's state after the référentiel lists `listed`: the référentiel's names, population
    and membership win, but what was learned elsewhere stays: a SIREN found on a portal and every
    alias. Contributed values are applied afterwards (see overrides.py), so this is the harvested state."""
    if current is None:
        return listed
    update: dict[str, object] = {
        "id": current.id,  # a département that learned its SIREN keeps it; its COG id stays an alias
        "siren": listed.siren or current.siren,
        "aliases": merge_aliases(current.aliases, listed.aliases),
        "provenance": {
            **{k: v for k, v in current.provenance.items() if not v.startswith("contribution:")},
            **listed.provenance,
        },
        "status": "active",
        "successor_id": None,
    }
    return listed.model_copy(update=update)


def without_taken_sirens(listed: list[Organization], holders: dict[str, str]) -> list[Organization]:
    """The organisations, less a SIREN the registry already gives another organisation (`holders`:
    SIREN -> id). A committed list may give a council a SIREN that a portal made known first, as an
    organisation of its own: both stay, the SIREN with the first, and the UNIQUE SIREN holds."""
    return [
        o.model_copy(update={"siren": None}) if o.siren and holders.get(o.siren, o.id) != o.id else o for o in listed
    ]


def merge_aliases(*lists: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for aliases in lists:
        for alias in aliases:
            seen.setdefault(alias, None)
    return list(seen)


def merged_into(organization: Organization, successor_id: str) -> Organization:
    """A commune that the référentiel now lists among another commune's former codes."""
    return organization.model_copy(update={"status": "merged", "successor_id": successor_id})
