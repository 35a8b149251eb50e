"""The harvester service."""
