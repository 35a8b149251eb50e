"""`python -m simulated_portals`: serve generated portals on 127.0.0.1:$OBS_SIMULATOR_PORT (8090).

    python -m simulated_portals [--portals 8] [--datasets 250] [--seed 2026] [--sources-file FILE]
                                [--publishers france|few] [--national-datasets 4000]

Portals are named `<family>-<nnnn>` plus `udata/datagouv`; `--sources-file` writes the harvest
sources for them (the demo's `infra/sources/demo.yaml` matches the defaults). By default
(`--publishers france`) about 750 organisations of the référentiel publish, larger collectivités more
often, on a local platform, on data.gouv.fr or both, in the proportions the Observatoire measured, so
the demo's indicators look like France's; `--publishers few` gives tests and benchmarks a handful.
"""

import argparse
from pathlib import Path

import yaml
from aiohttp import web

from shared.settings import Settings
from simulated_portals.app import build_app, source_url
from simulated_portals.catalogue import build_world


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m simulated_portals")
    parser.add_argument("--portals", type=int, default=8)
    parser.add_argument("--datasets", type=int, default=250, help="datasets per portal")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--mirrored-share", type=float, default=0.3, help="share of datasets also on data.gouv.fr")
    parser.add_argument("--publishers", choices=("france", "few"), default="france")
    parser.add_argument("--national-datasets", type=int, default=4000, help="data.gouv.fr's own datasets")
    parser.add_argument("--sources-file", type=Path)
    parser.add_argument("--cache-responses", action="store_true", help="serve every page again from memory")
    args = parser.parse_args()
    settings = Settings()
    world = build_world(
        portals=args.portals,
        datasets_per_portal=args.datasets,
        seed=args.seed,
        referentiel=settings.referentiel_path,
        mirrored_share=args.mirrored_share,
        publishers=args.publishers,
        national_datasets=args.national_datasets,
    )
    if args.sources_file:
        entries = [
            {
                "id": f"sim-{p.family}-{p.slug}".replace("-" + p.family + "-", "-"),
                "family": p.family,
                "name": f"Portail simulé {p.slug}",
                "schedule": "@daily",
                "url": source_url(world, "${OBS_SIMULATOR_URL}", p.family, p.slug),
            }
            for p in world.portals
        ]
        args.sources_file.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False))
    datasets = sum(world.total_datasets(p) for p in world.portals)
    print(
        f"{len(world.portals)} simulated portals, {datasets} datasets, on http://{settings.http_host}:"
        f"{settings.simulator_port}/<family>/<portal>/"
    )
    web.run_app(
        build_app(world, args.cache_responses),
        host=settings.http_host,
        port=settings.simulator_port,
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
