"""The shared code lists agree with the code that acts on them."""

from services.harvester.backends import BACKENDS
from shared.vocabulary import ASSOCIATED_TYPES, COLLECTIVITE_TYPES, EPCI_TYPES, ORGANIZATION_TYPES, PORTAL_FAMILIES


def test_every_portal_family_has_one_backend_and_every_backend_a_family():
    assert sorted(BACKENDS) == sorted(PORTAL_FAMILIES)


def test_organisation_types_are_the_collectivites_and_the_associated_bodies():
    assert set(ORGANIZATION_TYPES) == COLLECTIVITE_TYPES | ASSOCIATED_TYPES
    assert len(ORGANIZATION_TYPES) == len(set(ORGANIZATION_TYPES))
    assert EPCI_TYPES < COLLECTIVITE_TYPES and not COLLECTIVITE_TYPES & ASSOCIATED_TYPES
