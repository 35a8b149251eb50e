"""Simulated open data portals that reproduce the real APIs' shapes, paging and failures, for tests and demos."""
