"""`python -m services.consolidator` runs the consolidator."""

from services.consolidator.app import create_runtime
from shared.service import run
from shared.settings import Settings

if __name__ == "__main__":
    run(create_runtime(Settings()))
