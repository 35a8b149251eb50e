"""Simulated portals that misbehave the way real ones do, one quirk each (see tests/integration/test_harvesters.py)."""

from simulated_portals.catalogue import PortalSpec, Publisher, Quirks

PUBLISHERS = (Publisher("Ville de Vanves", None, "0" * 24), Publisher("Conseil départemental de l'Ain", None, "1" * 24))


def quirky(family: str, slug: str, size: int = 30, **options: object) -> PortalSpec:
    quirks = options.pop("quirks", Quirks())
    return PortalSpec(family=family, slug=slug, size=size, seed=5, publishers=PUBLISHERS, quirks=quirks, **options)


QUIRKY_PORTALS = [
    quirky("ods", "rate-limited", quirks=Quirks(rate_limit_every=2, retry_after=1)),
    quirky("ckan", "flaky", quirks=Quirks(error_5xx_every=2)),
    quirky("udata", "html-errors", size=250, quirks=Quirks(html_error_every=3)),
    quirky("dcat", "truncating", quirks=Quirks(truncated_every=2), dcat_format="turtle", page_size=10),
    quirky("ckan", "success-false", quirks=Quirks(success_false_every=2)),
    quirky("ckan", "capped", size=620, rows_max=250),
    quirky("ods", "deep", size=10_050),
    quirky("udata", "endless", quirks=Quirks(repeat_forever=True)),
    quirky("ckan", "endless-ckan", quirks=Quirks(repeat_forever=True), rows_max=10),
    quirky("dcat", "endless-dcat", quirks=Quirks(repeat_forever=True), page_size=10),
    quirky("udata", "untitled", size=25, quirks=Quirks(untitled_every=5)),
    # Datasets with thousands of files: 1.5 MB events (above Kafka's default limit, below the
    # Observatoire's), and 5 MB ones (above the 4 MiB the test deployment allows: `max_event_bytes`).
    quirky("udata", "large", size=10, quirks=Quirks(huge_every=5)),
    quirky("udata", "huge", size=10, quirks=Quirks(huge_every=5, huge_files=50_000)),
    quirky("udata", "slow", size=5, quirks=Quirks(slow_seconds=0.2)),
    quirky("udata", "territory", size=5),  # no quirk: a local portal registered with its département
    quirky("arcgis", "paged-feed", size=45, paged=True, page_size=20),
    quirky("ods", "undeclared", size=12),  # no quirk: registered without its family, which is detected
    quirky("ckan", "contributed", size=5),  # no quirk: proposed by a contributor who does not know its family
    # GeoNetwork: an ows:ExceptionReport with HTTP 200 on the second page; a count of records it cannot
    # list (the last page comes back empty); a nextRecord that always leads to the same records.
    quirky("csw", "csw-exception", size=30, page_size=10, quirks=Quirks(ows_exception_every=2)),
    quirky("csw", "csw-overcounted", size=40, page_size=20, quirks=Quirks(overcounted=3)),
    quirky("csw", "endless-csw", quirks=Quirks(repeat_forever=True), page_size=10),
    *[
        quirky(
            "dcat",
            f"hydra-{style}-{'literal' if literal else 'iri'}-{fmt}",
            size=25,
            page_size=10,
            dcat_format=fmt,
            quirks=Quirks(hydra=style, hydra_literal=literal),
        )
        for style in ("partial", "paged")
        for literal in (False, True)
        for fmt in ("turtle", "xml", "json-ld")
    ],
]
