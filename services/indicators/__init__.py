"""The indicators service."""
