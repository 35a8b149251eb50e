"""`python -m services.contributions` runs the contributions service."""

from services.contributions.app import create_runtime
from shared.service import run
from shared.settings import Settings

if __name__ == "__main__":
    run(create_runtime(Settings()))
