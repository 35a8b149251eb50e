"""Indicator formulas as plain functions over the projected facts."""

from dataclasses import dataclass


@dataclass(frozen=True)
class OrganizationFacts:
    datasets: int


def organization_values(facts: OrganizationFacts) -> dict[str, float | int | None]:
    return {"datasets": facts.datasets, "publishes": 1 if facts.datasets > 0 else 0}


def national_values(organizations_publishing: int, datasets: int) -> dict[str, float | int | None]:
    return {"datasets": datasets, "organizations_publishing": organizations_publishing}
