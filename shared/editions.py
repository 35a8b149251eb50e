"""The yearly editions as files, written once and never changed: `<editions_dir>/<year>/` holds the
edition's tables (CSV), their Table Schemas, its data package and `SHA256SUMS` (the `sha256sum`
format: `<hex>  <name>` a line). The indicators service writes them (`write_edition`), the api serves
them; a year whose directory exists is published, and `write_edition` refuses it.
"""

import hashlib
import os
import shutil
from pathlib import Path

CHECKSUMS = "SHA256SUMS"


class EditionPublished(Exception):
    """The edition of that year is already published: its files never change."""


def published_years(directory: Path) -> list[int]:
    """The years whose edition is published, in order."""
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit() and (p / CHECKSUMS).is_file())


def checksums(directory: Path, year: int) -> dict[str, str]:
    """Each file of a published edition with its SHA-256 ({} when the year is not published)."""
    path = directory / str(year) / CHECKSUMS
    if not path.is_file():
        return {}
    pairs = (line.split("  ", 1) for line in path.read_text().splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def write_edition(directory: Path, year: int, files: dict[str, bytes]) -> dict[str, str]:
    """Publish the edition's files with their SHA256SUMS: written beside, then renamed into place at
    once, so a reader sees all of them or none. Raises EditionPublished when the year already is."""
    target = directory / str(year)
    if target.exists():
        raise EditionPublished(f"l'édition {year} est déjà publiée ({target}) : ses fichiers ne changent plus")
    directory.mkdir(parents=True, exist_ok=True)
    staging = directory / f".{year}.{os.getpid()}.tmp"
    staging.mkdir()
    digests = {name: hashlib.sha256(body).hexdigest() for name, body in files.items()}
    for name, body in files.items():
        (staging / name).write_bytes(body)
    (staging / CHECKSUMS).write_text("".join(f"{digests[name]}  {name}\n" for name in sorted(files)))
    for path in staging.iterdir():
        path.chmod(0o444)
    try:
        staging.rename(target)  # fails when another writer published the year meanwhile
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise EditionPublished(f"l'édition {year} vient d'être publiée par ailleurs ({target})") from exc
    return digests
