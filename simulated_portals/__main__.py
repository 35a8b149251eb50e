"""`python -m simulated_portals`: serve generated catalogues on 127.0.0.1:$OBS_SIMULATOR_PORT (8090)."""

from aiohttp import web

from shared.settings import Settings
from simulated_portals.app import build_app
from simulated_portals.catalogue import generate, siret_for

DEMO_ORGANIZATIONS: list[tuple[str, str | None]] = [
    ("Ville de Rennes", siret_for("21350238")),
    ("Rennes Métropole", siret_for("24350001")),
    ("Département d'Ille-et-Vilaine", siret_for("22350001")),
    ("Association des amis du patrimoine", None),
]

if __name__ == "__main__":
    settings = Settings()
    catalogue = generate(seed=2026, organizations=DEMO_ORGANIZATIONS, datasets_per_org=25)
    print(f"simulated portals on http://{settings.http_host}:{settings.simulator_port}/udata/api/1/datasets/")
    web.run_app(build_app(catalogue), host=settings.http_host, port=settings.simulator_port, print=None)
