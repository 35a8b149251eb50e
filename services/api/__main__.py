"""`python -m services.api` runs the public API."""

from services.api.app import FORWARDED_PREFIXES, create_routes, create_runtime, json_errors
from services.api.caching import http_caching
from shared.service import run
from shared.settings import Settings

if __name__ == "__main__":
    run(create_runtime(Settings()), create_routes(), middlewares=(json_errors, http_caching(FORWARDED_PREFIXES)))
