"""The contributions service."""
