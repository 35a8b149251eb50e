"""The consolidator service."""
