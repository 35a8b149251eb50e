"""The consolidation benchmark's events come in the order a harvester publishes them."""

from bench.consolidation import harvest_order


def test_portals_are_harvested_a_few_at_a_time_page_by_page() -> None:
    order = list(harvest_order([3, 1, 2, 2], concurrency=2, page=2))
    # Portals 0 and 1 first, their pages of two taking turns; then 2 and 3.
    assert order == [(0, 0), (0, 1), (1, 0), (0, 2), (2, 0), (2, 1), (3, 0), (3, 1)]


def test_every_dataset_comes_once() -> None:
    sizes = [200, 37, 0, 150, 101]
    order = list(harvest_order(sizes, concurrency=3, page=100))
    assert sorted(order) == [(p, i) for p, size in enumerate(sizes) for i in range(size)]
