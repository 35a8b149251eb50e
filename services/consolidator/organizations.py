"""From what a portal says about a publisher to an organisation of the registry.

Order of evidence: the SIREN the portal gives (udata business_number_id), then a known alias (the
portal's organisation id or publisher string). A publisher with neither stays unmatched, recorded,
never dropped; the name and territory matcher comes with the référentiel.
"""

from dataclasses import dataclass

from shared.events import Organization, Publisher


@dataclass(frozen=True)
class Match:
    organization_id: str
    rule: str  # siren, alias


def alias_keys(portal_url: str, publisher: Publisher) -> list[str]:
    """The aliases under which a publisher of a portal can be known, most specific first."""
    keys = []
    if publisher.remote_id:
        keys.append(f"{portal_url}#org:{publisher.remote_id}")
    keys.append(f"{portal_url}#name:{publisher.name.strip().casefold()}")
    return keys


def organization_from_publisher(siren: str, publisher: Publisher) -> Organization:
    """A first registry entry for an organisation known only by the SIREN a portal gave."""
    return Organization(id=siren, siren=siren, name=publisher.name.strip())
