"""`python -m services.consolidator` runs the consolidator.

python -m services.consolidator load-referentiel [--path DIR]   publish the référentiel for the consolidator
python -m services.consolidator obligated-counts                print the obligated organisations per type
"""

import argparse
import asyncio
import gc
import sys
from pathlib import Path

from services.consolidator.app import create_runtime
from services.consolidator.commands import load_referentiel, print_obligated_counts
from shared.service import run
from shared.settings import Settings


def main(argv: list[str]) -> None:
    settings = Settings()
    if not argv:
        # A batch keeps thousands of objects alive until it commits: with the default thresholds the
        # collector walked them again and again (15 % of the consolidator's time in a profile).
        gc.set_threshold(100_000, 50, 100)
        run(create_runtime(settings))
        return
    parser = argparse.ArgumentParser(prog="python -m services.consolidator")
    sub = parser.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load-referentiel", help="publish the référentiel's organisations")
    load.add_argument("--path", type=Path, default=settings.referentiel_path)
    sub.add_parser("obligated-counts", help="print the obligated organisations per type")
    args = parser.parse_args(argv)
    if args.command == "load-referentiel":
        count = asyncio.run(load_referentiel(settings, args.path))
        print(f"published {count} organisations of the référentiel")
    else:
        asyncio.run(print_obligated_counts(settings))


if __name__ == "__main__":
    main(sys.argv[1:])
