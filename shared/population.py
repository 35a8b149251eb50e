"""The Observatoire's population bins (its `tranche_pop`), shared by the indicators and the API filters."""

# The Observatoire's population bins (tranche_pop), upper bounds exclusive.
POPULATION_BINS = (
    ("na", 1_000),
    ("p_1_5", 5_000),
    ("p_5_10", 10_000),
    ("p_10_25", 25_000),
    ("p_25_50", 50_000),
    ("p_50_100", 100_000),
    ("p_100_250", 250_000),
    ("p_250_500", 500_000),
    ("p_500_1000", 1_000_000),
    ("p_1000_5000.001", None),
)


NO_POPULATION = "p_na"  # the bin of organisations whose population is unknown

# (label, low, high) of each bin: low inclusive, high exclusive (None: no upper bound).
POPULATION_BOUNDS = tuple(
    (label, POPULATION_BINS[n - 1][1] if n else 0, high) for n, (label, high) in enumerate(POPULATION_BINS)
)


def population_bounds(label: str) -> tuple[int | None, int | None]:
    """[low, high) of a population bin; (None, None) for the organisations of unknown population."""
    return next(((low, high) for name, low, high in POPULATION_BOUNDS if name == label), (None, None))


def population_bin(population: int | None) -> str:
    if population is None:
        return NO_POPULATION
    for label, upper in POPULATION_BINS:
        if upper is None or population < upper:
            return label
    return NO_POPULATION
