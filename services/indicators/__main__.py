"""`python -m services.indicators` runs the indicators service.

python -m services.indicators recompute             recompute every indicator from the projection
python -m services.indicators edition [--year Y]    keep today's values as the year's edition, and publish its
                                                    files once (OBS_EDITIONS_DIR/<year>/: tables, schemas,
                                                    data package, SHA256SUMS); refused once published
"""

import argparse
import asyncio
import sys

from services.indicators.app import create_runtime
from services.indicators.commands import recompute_everything, take_edition
from shared.editions import EditionPublished
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
    edition = sub.add_parser(
        "edition", help="keep today's values of every scope as the year's edition, and publish its files"
    )
    edition.add_argument("--year", type=int, default=None)
    args = parser.parse_args(argv)
    if args.command == "recompute":
        changed = asyncio.run(recompute_everything(settings))
        print(f"{len(changed)} scopes changed" + (f": {', '.join(changed[:20])}" if changed else ""))
    else:
        try:
            kept = asyncio.run(take_edition(settings, args.year))
        except EditionPublished as exc:
            sys.exit(str(exc))
        print(f"{kept} scopes kept in the edition; its files are in {settings.editions_dir}")


if __name__ == "__main__":
    main(sys.argv[1:])
