"""Topic names and their layout: partitions and cleanup policy (compaction for the state topics)."""

from dataclasses import dataclass

HARVEST_COMMANDS = "harvest.commands"
HARVEST_DATASETS = "harvest.datasets"
HARVEST_RUNS = "harvest.runs"
HARVEST_REUSES = "harvest.reuses"
HARVEST_AUDIENCE = "harvest.audience"
REGISTRY_REFERENTIEL = "registry.referentiel"
REGISTRY_ORGANIZATIONS = "registry.organizations"
REGISTRY_DATASETS = "registry.datasets"
CONTRIBUTIONS_EVENTS = "contributions.events"
INDICATORS_UPDATED = "indicators.updated"

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    compacted: bool = False

    def config(self, max_event_bytes: int) -> dict[str, str]:
        """The topic's settings; every topic takes events up to `max_event_bytes` (a dead-letter topic
        too: a large event that failed must fit there)."""
        size = {"max.message.bytes": str(max_event_bytes)}
        if self.compacted:
            # Compacted topics hold the full state of every key; keep them forever.
            return {"cleanup.policy": "compact", "retention.ms": "-1", "min.cleanable.dirty.ratio": "0.1", **size}
        return {"cleanup.policy": "delete", **size}


MAIN_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(HARVEST_COMMANDS, partitions=3),
    TopicSpec(HARVEST_DATASETS, partitions=6),
    TopicSpec(HARVEST_RUNS, partitions=3),
    # The reuses portals list, each its latest state (keyed source:remote id, compacted).
    TopicSpec(HARVEST_REUSES, partitions=3, compacted=True),
    # The audience portals give their datasets at each run, in chunks of records.
    TopicSpec(HARVEST_AUDIENCE, partitions=3),
    # Commands to the consolidator: the organisations of the official référentiel, one per event.
    TopicSpec(REGISTRY_REFERENTIEL, partitions=3),
    TopicSpec(REGISTRY_ORGANIZATIONS, partitions=6, compacted=True),
    TopicSpec(REGISTRY_DATASETS, partitions=6, compacted=True),
    TopicSpec(CONTRIBUTIONS_EVENTS, partitions=3),
    TopicSpec(INDICATORS_UPDATED, partitions=6, compacted=True),
)


def dlq(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


def all_topics() -> tuple[TopicSpec, ...]:
    """Every topic of the design, each with its dead-letter topic (one partition, delete policy)."""
    dead_letters = tuple(TopicSpec(dlq(spec.name), partitions=1) for spec in MAIN_TOPICS)
    return MAIN_TOPICS + dead_letters
