"""Accepted contributions as overrides of harvested values.

A contribution wins over what portals and the référentiel say, until they say something new: the
override remembers the harvested value it replaced (`base_value`); when the harvested value moves
away from both that value and the contributed one, the override expires and the harvested value
comes back. Every applied field's provenance is `contribution:<id>`.
"""

from dataclasses import dataclass
from typing import Any

from services.consolidator.obligation import obligation_for
from shared.events import Attribution, CanonicalDataset, Organization

ORGANIZATION_FIELDS = frozenset({"name", "population", "agents", "website", "contact_url"})
DATASET_FIELDS = frozenset({"title", "description", "licence", "organization_id"})


@dataclass(frozen=True)
class Override:
    field: str
    value: Any
    base_value: Any  # the harvested value when the contribution was accepted
    contribution_id: str

    @property
    def provenance(self) -> str:
        return f"contribution:{self.contribution_id}"


def still_valid(override: Override, harvested: Any) -> bool:
    return bool(harvested == override.base_value or harvested == override.value)


def organization_values(organization: Organization) -> dict[str, Any]:
    """The values contributions may override, as the harvest left them."""
    agents = organization.obligation.agents if organization.obligation else None
    return {field: getattr(organization, field, None) for field in ORGANIZATION_FIELDS - {"agents"}} | {
        "agents": agents
    }


def dataset_values(dataset: CanonicalDataset) -> dict[str, Any]:
    return {field: getattr(dataset, field) for field in DATASET_FIELDS}


def with_value(organization: Organization, field: str, value: Any, source: str | None) -> Organization:
    """The organisation with one overridable field set (agents decide the obligation)."""
    if field != "agents":
        return organization.model_copy(update={field: value})
    population_source = organization.obligation.population_source if organization.obligation else None
    obligation = obligation_for(organization.type, organization.population, population_source, value, source)
    return organization.model_copy(update={"obligation": obligation})


def apply_to_organization(organization: Organization, overrides: list[Override]) -> tuple[Organization, list[Override]]:
    """The organisation with its valid overrides applied, and the overrides that expired."""
    harvested = organization_values(organization)
    valid = [o for o in overrides if still_valid(o, harvested.get(o.field))]
    result = organization
    for override in valid:
        result = with_value(result, override.field, override.value, override.provenance)
    provenance = {k: v for k, v in organization.provenance.items() if not v.startswith("contribution:")}
    result = result.model_copy(update={"provenance": provenance | {o.field: o.provenance for o in valid}})
    return result, [o for o in overrides if o not in valid]


def apply_to_dataset(dataset: CanonicalDataset, overrides: list[Override]) -> tuple[CanonicalDataset, list[Override]]:
    if not overrides:
        return dataset, []
    harvested = dataset_values(dataset)
    valid = [o for o in overrides if still_valid(o, harvested.get(o.field))]
    update: dict[str, Any] = {o.field: o.value for o in valid}
    if any(o.field == "organization_id" for o in valid):
        update["attribution"] = Attribution(rule="contribution", confidence=1.0)
    update["provenance"] = {**dataset.provenance, **{o.field: o.provenance for o in valid}}
    return dataset.model_copy(update=update), [o for o in overrides if o not in valid]
