"""`python -m services.indicators` runs the indicators service."""

from services.indicators.app import create_runtime
from shared.service import run
from shared.settings import Settings

if __name__ == "__main__":
    run(create_runtime(Settings()))
