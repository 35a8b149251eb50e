"""`python -m services.api` runs the public API."""

from services.api.app import create_routes, create_runtime, http_caching, json_errors
from shared.service import run
from shared.settings import Settings

if __name__ == "__main__":
    run(create_runtime(Settings()), create_routes(), middlewares=(json_errors, http_caching))
