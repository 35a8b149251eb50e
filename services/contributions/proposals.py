"""What a contributor may propose, and how a proposal is checked before it is stored.

A proposal targets an organisation (one of its fields), one of its datasets (a field of the dataset)
or an unmatched publisher (the SIREN of the body behind it). Each field has one value check; the
text a contributor writes is kept as text, never interpreted (the front end writes it as text nodes).
"""

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from shared.identifiers import clean_identifier, luhn_valid
from shared.vocabulary import LICENCES, PORTAL_FAMILIES

MAX_TEXT = 2_000


class Invalid(ValueError):
    """A proposal that cannot be stored; the message says why, in French, for the contributor."""


class PublisherIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    portal_url: str = Field(max_length=2_000)
    name: str = Field(min_length=1, max_length=300)
    remote_id: str = Field(default="", max_length=300)


class ProposalIn(BaseModel):
    """The body of POST /api/v1/contributions."""

    model_config = ConfigDict(extra="forbid")
    field: str = Field(max_length=40)
    value: Any = None
    organization_id: str | None = Field(default=None, max_length=40)
    dataset_id: str | None = Field(default=None, max_length=80)
    publisher: PublisherIn | None = None
    comment: str | None = Field(default=None, max_length=MAX_TEXT)
    # Left empty by people (the form hides it); robots fill every field they find.
    homepage: str | None = Field(default=None, max_length=MAX_TEXT)


def siren_of(value: Any) -> str:
    """A SIREN (9 digits) or a SIRET (14 digits, the SIREN and an establishment number), spaces
    allowed, each checked by its Luhn key; the SIREN it names."""
    digits = clean_identifier(str(value or "")).replace(".", "")
    if not re.fullmatch(r"\d{9}|\d{14}", digits):
        raise Invalid("un SIREN a 9 chiffres, un SIRET 14")
    if len(digits) == 14 and not luhn_valid(digits):
        raise Invalid("ce SIRET n'est pas valide (clé de contrôle)")
    if not luhn_valid(digits[:9]):
        raise Invalid("ce SIREN n'est pas valide (clé de contrôle)")
    return digits[:9]


def web_url(value: Any) -> str:
    text = str(value or "").strip()
    parts = urlsplit(text)
    if len(text) > 2_000 or parts.scheme not in ("http", "https") or not parts.hostname or " " in text:
        raise Invalid("une adresse web commence par http:// ou https:// et nomme un site")
    return text


def whole_number(high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
            raise Invalid("un nombre entier positif est attendu")
        number = int(str(value).strip())
        if number > high:
            raise Invalid(f"au plus {high:,}".replace(",", " "))
        return number

    return check


def text(low: int, high: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not low <= len(value.strip()) <= high:
            raise Invalid(f"un texte de {low} à {high} caractères est attendu")
        if "\x00" in value:
            raise Invalid("caractère nul refusé")
        return value.strip()

    return check


def one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise Invalid(f"valeurs possibles : {', '.join(choices)}")
        return str(value)

    return check


def portal(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != {"url", "technology"}:
        raise Invalid("un portail se décrit par {url, technology}")
    # "auto": the contributor does not know; the harvester detects the family when a moderator accepts it.
    return {"url": web_url(value["url"]), "technology": one_of((*PORTAL_FAMILIES, "auto"))(value["technology"])}


def dataset(value: Any) -> dict[str, str]:
    """A dataset the registry misses: its title and address, and if known its description and licence."""
    optional = {"description", "licence"}
    if not isinstance(value, dict) or not {"title", "url"} <= set(value) or set(value) - {"title", "url"} - optional:
        raise Invalid("un jeu de données se décrit par {title, url}, et au besoin description et licence")
    proposed = {"title": text(2, 500)(value["title"]), "url": web_url(value["url"])}
    if value.get("description"):
        proposed["description"] = text(0, MAX_TEXT)(value["description"])
    if value.get("licence"):
        proposed["licence"] = one_of(LICENCES)(value["licence"])
    return proposed


def organization_id(value: Any) -> str:
    return text(1, 40)(value)


ORGANIZATION_FIELDS: dict[str, Callable[[Any], Any]] = {
    "name": text(2, 300),
    "population": whole_number(3_000_000),
    "agents": whole_number(1_000_000),  # 50 agents or more (and 3,500 inhabitants) oblige a commune
    "website": web_url,
    "contact_url": web_url,
    "portal": portal,  # a portal it publishes on, for the harvester to add as a source
    "dataset": dataset,  # a dataset it publishes that no harvested portal lists
}
DATASET_FIELDS: dict[str, Callable[[Any], Any]] = {
    "title": text(2, 500),
    "description": text(0, MAX_TEXT),
    "licence": one_of(LICENCES),
    "organization_id": organization_id,  # the dataset belongs to another organisation
}
# How a contributor reads each field in an error message ("Nom : un texte de 2 à 300 caractères…").
FIELD_LABELS = {
    "name": "Nom", "population": "Population", "agents": "Nombre d'agents", "website": "Site web",
    "contact_url": "Page de contact", "portal": "Portail", "dataset": "Jeu de données", "title": "Titre",
    "description": "Description", "licence": "Licence", "organization_id": "Organisation", "publisher": "Éditeur",
    "field": "Information", "value": "Valeur proposée", "comment": "Commentaire", "dataset_id": "Jeu de données",
    "homepage": "Champ piège", "portal_url": "Adresse du portail", "remote_id": "Identifiant sur le portail",
}  # fmt: skip


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name)


PUBLISHER_FIELD = "publisher"  # the SIREN of the body behind an unmatched publisher


def check_value(proposal: ProposalIn) -> Any:
    """The proposal's value, checked and normalised for its field; Invalid otherwise."""
    if proposal.field == PUBLISHER_FIELD:
        if proposal.publisher is None:
            raise Invalid("indiquer l'éditeur (publisher) à rattacher")
        return siren_of(proposal.value)
    if proposal.publisher is not None:
        raise Invalid("publisher ne vaut que pour le champ publisher")
    fields = DATASET_FIELDS if proposal.dataset_id else ORGANIZATION_FIELDS
    if proposal.field not in fields:
        what = "d'un jeu de données" if proposal.dataset_id else "d'une organisation"
        raise Invalid(f"champ {what} inconnu ; champs possibles : {', '.join(fields)}")
    if not proposal.organization_id:
        raise Invalid("indiquer l'organisation (organization_id)")
    return fields[proposal.field](proposal.value)


def current_value(field: str, organization: dict[str, Any] | None, dataset: dict[str, Any] | None) -> Any:
    """What the registry holds today for the proposal's field, shown to moderators beside it."""
    if dataset is not None:
        return dataset.get(field)
    if organization is None:
        return None
    if field == "agents":
        return (organization.get("obligation") or {}).get("agents")
    if field in ("portal", "dataset"):
        return None  # something new: the moderator sees the organisation's page for what is known
    return organization.get(field)
