"""The legal obligation to publish (CRPA article L. 312-1-1, décret 2016-1922): collectivités with
more than 3,500 inhabitants and at least 50 agents (full-time equivalent).

No open source gives the number of agents, so by default the Observatoire's own practice applies:
population alone (`population_only`), which assumes that a collectivité above 3,500 inhabitants has
at least 50 agents. Once agents are contributed for an organisation, both criteria apply to it
(`population_and_agents`). Bodies that are not collectivités (syndicats, offices de tourisme, SEM...)
are outside the Observatoire's denominator (`not_a_collectivite`).
"""

from shared.events import Obligation
from shared.vocabulary import COLLECTIVITE_TYPES

POPULATION_THRESHOLD = 3_500  # strictly more than
AGENTS_THRESHOLD = 50  # at least


def obligation_for(
    organization_type: str | None,
    population: int | None,
    population_source: str | None,
    agents: int | None = None,
    agents_source: str | None = None,
) -> Obligation:
    common = {
        "population": population,
        "population_source": population_source,
        "agents": agents,
        "agents_source": agents_source,
    }
    if organization_type not in COLLECTIVITE_TYPES:
        return Obligation(obligated=None, method="not_a_collectivite", **common)
    if population is None:
        return Obligation(obligated=None, method="unknown", **common)
    above = population > POPULATION_THRESHOLD
    if agents is None:
        return Obligation(obligated=above, method="population_only", **common)
    return Obligation(obligated=above and agents >= AGENTS_THRESHOLD, method="population_and_agents", **common)
