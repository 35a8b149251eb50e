"""The corpus of real payloads (tests/data/real/): its cases, a replay server that answers each case's
routes with its files, and the comparison of what a harvest published with what the case expects.

Each case is served under its own prefix (`/<family>/<case>`), so `{base}` in a case (links
rewritten in the bodies, expected remote ids and URLs) is the server's address plus that prefix."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

CORPUS = Path(__file__).resolve().parents[1] / "data" / "real"


@dataclass(frozen=True)
class Case:
    name: str
    folder: Path
    family: str
    source: str
    routes: dict[str, dict[str, Any]]
    rewrite: dict[str, str]
    expected: dict[str, Any]

    @property
    def prefix(self) -> str:
        return f"/{self.folder.name}/{self.name}"

    @property
    def source_id(self) -> str:
        return f"real-{self.folder.name}-{self.name}"[:64]

    def base(self, server: str) -> str:
        return f"{server}{self.prefix}"

    def source_url(self, server: str) -> str:
        return self.base(server) + self.source


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CORPUS.glob("*/*.case.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        cases.append(
            Case(
                name=path.name.removesuffix(".case.yaml"),
                folder=path.parent,
                family=spec["family"],
                source=spec["source"],
                routes=spec.get("routes") or {},
                rewrite=spec.get("rewrite") or {},
                expected=spec["expected"],
            )
        )
    return cases


def replay_app(cases: list[Case]) -> web.Application:
    """Answers `<prefix><route>` with the route's file (or status), the case's rewrites applied."""
    by_path: dict[str, tuple[Case, dict[str, Any]]] = {}
    for case in cases:
        for route, reply in case.routes.items():
            by_path[case.prefix + route] = (case, reply)

    async def answer(request: web.Request) -> web.Response:
        found = by_path.get(request.raw_path) or by_path.get(request.path)
        if found is None:
            return web.Response(status=404, text="not in the corpus")
        case, route = found
        if "file" not in route:
            return web.Response(status=int(route.get("status", 404)))
        body = (case.folder / route["file"]).read_bytes()
        base = case.base(f"{request.scheme}://{request.host}")
        for old, new in case.rewrite.items():
            body = body.replace(old.encode(), new.replace("{base}", base).encode())
        return web.Response(body=body, headers={"Content-Type": route.get("content_type", "application/json")})

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", answer)
    return app


def differences(case: Case, server: str, status: str, item_errors: list[str | None], events: list[dict]) -> list[str]:
    """What the harvest did otherwise than the case expects, one line each (empty: as expected)."""
    base = case.base(server)
    expected = json.loads(json.dumps(case.expected).replace("{base}", base))
    found: list[str] = []
    if status != expected["status"]:
        found.append(f"status {status!r}, expected {expected['status']!r}")
    errors = sorted(e for e in item_errors if e)
    if errors != sorted(expected.get("item_errors") or []):
        found.append(f"item errors {errors}, expected {sorted(expected.get('item_errors') or [])}")
    published = {e["remote_id"]: e for e in events}
    datasets = expected.get("datasets") or {}
    if set(published) != set(datasets):
        found.append(
            f"remote ids: missing {sorted(set(datasets) - set(published))[:5]}, "
            f"unexpected {sorted(set(published) - set(datasets))[:5]}"
        )
    for remote_id, want in datasets.items():
        if remote_id in published:
            found += [f"{remote_id}: {line}" for line in _dataset_differences(published[remote_id], want)]
    return found


def _dataset_differences(event: dict, want: dict[str, Any]) -> list[str]:
    got = {
        "title": event["title"],
        "publisher": event["publisher"]["name"],
        "licence": event["licence"],
        "themes": sorted(event["themes"]),
        "formats": sorted({r["format"] for r in event["resources"] if r["format"]}),
        "resources": sorted({r["url"] for r in event["resources"]}),
        "siren": event["publisher"]["siren"],
    }
    found = []
    for key in ("title", "publisher", "licence", "themes", "formats", "resources", "siren"):
        if key in want:
            expected = sorted(set(want[key])) if key in ("themes", "formats", "resources") else want[key]
            if got[key] != expected:
                found.append(f"{key} {got[key]!r}, expected {expected!r}")
    if "tags" in want and not set(want["tags"]) <= set(event["tags"]):
        found.append(f"tags {event['tags']!r} lack {sorted(set(want['tags']) - set(event['tags']))!r}")
    for key in ("description", "created", "modified"):
        if key in want and not str(event[key] or "").startswith(str(want[key])):
            found.append(f"{key} {str(event[key])[:80]!r} does not start with {want[key]!r}")
    return found
