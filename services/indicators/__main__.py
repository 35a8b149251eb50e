"""`python -m services.indicators` runs the indicators service.

python -m services.indicators recompute             recompute every indicator from the projection
python -m services.indicators edition [--year Y]    keep today's values as the year's edition
"""

import argparse
import asyncio
import sys

from services.indicators.app import create_runtime
from services.indicators.commands import recompute_everything, take_edition
from shared.service import run
from shared.settings import Settings


def main(argv: list[str]) -> None:
    settings = Settings()
    if not argv:
        run(create_runtime(settings))
        return
    parser = argparse.ArgumentParser(prog="python -m services.indicators")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("recompute", help="recompute every indicator from the projection (changes are announced)")
    edition = sub.add_parser("edition", help="keep today's values of every scope as the year's edition")
    edition.add_argument("--year", type=int, default=None)
    args = parser.parse_args(argv)
    if args.command == "recompute":
        changed = asyncio.run(recompute_everything(settings))
        print(f"{len(changed)} scopes changed" + (f": {', '.join(changed[:20])}" if changed else ""))
    else:
        print(f"{asyncio.run(take_edition(settings, args.year))} scopes kept in the edition")


if __name__ == "__main__":
    main(sys.argv[1:])
