import pytest

from services.consolidator.obligation import obligation_for


@pytest.mark.parametrize(
    "type_, population, agents, obligated, method",
    [
        ("COM", 3_501, None, True, "population_only"),  # the Observatoire's practice: population alone
        ("COM", 3_500, None, False, "population_only"),  # "more than 3,500"
        ("COM", 12_000, 49, False, "population_and_agents"),  # contributed agents decide
        ("COM", 12_000, 50, True, "population_and_agents"),  # "at least 50"
        ("COM", 3_400, 300, False, "population_and_agents"),
        ("DEP", 600_000, None, True, "population_only"),
        ("COM", None, None, None, "unknown"),
        ("AGCT", 900_000, 400, None, "not_a_collectivite"),  # syndicats are outside the denominator
        (None, 10_000, None, None, "not_a_collectivite"),
    ],
)
def test_obligation_rule_and_its_method(type_, population, agents, obligated, method):
    result = obligation_for(type_, population, "INSEE", agents, "contribution:1" if agents is not None else None)
    assert (result.obligated, result.method) == (obligated, method)
    assert result.population == population and result.agents == agents
