"""Publisher matching against the full référentiel, on a labelled set of publisher strings written for
these tests (tests/data/publishers.csv): every organisation type and every trap portals set."""

import csv
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.consolidator.referentiel import organizations, read_package
from shared.events import Organization
from shared.matching import Matcher, MatcherCache, normalise
from shared.settings import Settings

LABELS = Path(__file__).resolve().parents[1] / "data" / "publishers.csv"


@pytest.fixture(scope="module")
def referentiel() -> list[Organization]:
    return organizations(read_package(Settings().referentiel_path))


@pytest.fixture(scope="module")
def matcher(referentiel: list[Organization]) -> Matcher:
    return Matcher(referentiel)


@pytest.fixture(scope="module")
def labelled() -> list[dict[str, str]]:
    with LABELS.open(newline="") as f:
        return list(csv.DictReader(f))


def test_the_labelled_set_covers_every_type_and_trap(labelled):
    cases = {row["case"] for row in labelled}
    assert len(labelled) >= 300
    assert {
        "commune",
        "homonym-territory",
        "homonym-written-territory",
        "homonym-undecided",
        "identifier",
        "epci-CC",
        "epci-CA",
        "metropole",
        "ept",
        "departement",
        "region",
        "not-a-collectivite",
    } <= cases


def test_precision_and_recall_on_the_labelled_set(matcher, labelled):
    true_positive = false_positive = false_negative = 0
    mistakes = []
    for row in labelled:
        result = matcher.match(row["publisher"], siren=row["siren"] or None, departement=row["departement"] or None)
        found = result.best.organization_id if result.best else None
        expected = row["expected_id"] or None
        if found and found == expected:
            true_positive += 1
        elif found:
            false_positive += 1
            mistakes.append((row["publisher"], expected, found))
        elif expected:
            false_negative += 1
            mistakes.append((row["publisher"], expected, result.reason))
    precision = true_positive / (true_positive + false_positive)
    recall = true_positive / (true_positive + false_negative)
    assert precision >= 0.99, mistakes
    assert recall >= 0.95, mistakes


REAL = LABELS.with_name("publishers_real.csv")  # names as real registries write them; see publishers_real.md


def test_precision_and_recall_on_names_real_registries_write(matcher):
    """Names from Open Data France's registry and data.gouv.fr, labelled by the SIREN the source gives
    (départements and régions, which the référentiel gives no SIREN, by publishers_real_ids.csv). A
    wrong organisation counts against both precision and recall."""
    with REAL.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with REAL.with_name("publishers_real_ids.csv").open(newline="") as f:
        councils = {r["siren"]: r["organization_id"] for r in csv.DictReader(f)}
    assert len(rows) >= 400 and sum(1 for r in rows if not r["siren"]) >= 50  # publishers to leave unmatched
    right = wrong = missed = 0
    mistakes = []
    for row in rows:
        expected = None
        if row["siren"]:
            expected = matcher.by_id[row["siren"]].id if row["siren"] in matcher.by_id else councils[row["siren"]]
        result = matcher.match(row["name"], departement=row["departement"] or None)
        found = result.best.organization_id if result.best else None
        right += bool(found and found == expected)
        wrong += bool(found and found != expected)
        missed += bool(expected and found != expected)
        if found != expected:
            mistakes.append((row["name"], row["departement"], expected, found or result.reason))
    precision, recall = right / (right + wrong), right / (right + missed)
    assert precision >= 0.99, [m for m in mistakes if m[3] and not m[3].startswith(("no ", "a ", "its "))]
    assert recall >= 0.95, mistakes


def test_a_homonym_is_never_guessed(matcher):
    result = matcher.match("Commune de Saint-Denis")
    assert result.best is None
    assert len(result.candidates) > 1 and "homonym" in result.reason
    decided = matcher.match("Commune de Saint-Denis", departement="974")
    assert decided.best is not None and decided.best.departement == "974"


def test_identifiers_win_and_carry_full_confidence(matcher):
    result = matcher.match("Nom sans rapport", siren="2135\u200b02388 ")
    assert result.best.organization_id == "213502388" and result.best.confidence == 1.0


def test_a_known_alias_is_used_before_the_name(referentiel):
    aliased = Matcher(referentiel, aliases={"https://portal#name:mairie": "213502388"})
    result = aliased.match("mairie", alias_keys=["https://portal#name:mairie"])
    assert result.best.organization_id == "213502388" and result.best.rule == "alias"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Commune d'Acigné", "commune d acigne"),
        ("  SAINT-MALO\u200b ", "saint malo"),
        ("Ste-Anne-d'Auray", "sainte anne d auray"),
        ("\u202aRennes\u202c", "rennes"),
    ],
)
def test_normalisation(raw, expected):
    assert normalise(raw) == expected


class RegistryRows:
    """What `MatcherCache` reads from registry_read.organizations: rows committed so far, by updated_at, and
    the registry's clock (`now`)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.rows: list[dict[str, object]] = []
        self.aliases: list[dict[str, object]] = []
        self.versions_read = 0
        self.organizations_read = 0
        self.aliases_read = 0

    def commit(self, organization: Organization, updated_at: datetime) -> None:
        o = organization
        self.rows = [r for r in self.rows if r["id"] != o.id]
        columns = {"id": o.id, "name": o.name, "type": o.type, "siren": o.siren, "departement": o.departement}
        self.rows.append({**columns, "status": o.status, "updated_at": updated_at})

    def set_alias(self, alias: str, organization_id: str, kind: str, updated_at: datetime) -> None:
        self.aliases = [a for a in self.aliases if a["alias"] != alias]
        self.aliases.append(
            {"alias": alias, "organization_id": organization_id, "kind": kind, "updated_at": updated_at}
        )

    async def fetchval(self, query: str) -> datetime:
        assert query == "SELECT now()"
        return self.now

    async def fetch(self, query: str, *args: object) -> list[dict[str, object]]:
        since = args[0] if args else None
        if "registry_read.aliases" in query:
            read = [
                a
                for a in self.aliases
                if (since is None or a["updated_at"] > since) and a["kind"] != "insee"  # type: ignore[operator]
            ]
            self.aliases_read += len(read)
            return read
        if "ANY(" in query:  # the organisations of these ids
            rows = [r for r in self.rows if r["id"] in args[0]]  # type: ignore[operator]
            self.organizations_read += len(rows)
            return rows
        versions = [{"id": r["id"], "updated_at": r["updated_at"]} for r in self.rows]
        read = [v for v in versions if since is None or v["updated_at"] > since]  # type: ignore[operator]
        self.versions_read += len(read)
        return read


async def test_an_organisation_committed_after_a_refresh_with_an_earlier_time_is_still_loaded():
    t0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    registry, cache = RegistryRows(now=t0 + timedelta(seconds=3)), MatcherCache(refresh_seconds=0)
    registry.commit(Organization(id="200000001", name="Communauté de communes A", type="CC"), t0 + timedelta(seconds=2))
    await cache.get(registry)
    # Another instance's transaction began before that row was written and committed after the refresh.
    registry.commit(Organization(id="200000002", name="Communauté de communes B", type="CC"), t0 + timedelta(seconds=1))
    matcher = await cache.get(registry)
    assert set(matcher.by_id) >= {"200000001", "200000002"}
    assert matcher.match("Communauté de communes B").best is not None


async def test_a_refresh_reads_again_the_changed_organisations_only():
    full_loads: list[int] = []
    t0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    registry = RegistryRows(now=t0 + timedelta(seconds=1))
    cache = MatcherCache(refresh_seconds=0, after_full_load=lambda: full_loads.append(registry.organizations_read))
    cache.FULL_LOAD = 40
    for n in range(50):  # a référentiel load: every row within the overlap of the next refreshes
        registry.commit(Organization(id=f"2000000{n:02}", name=f"Commune {n}", type="COM"), t0)
    await cache.get(registry)
    assert registry.organizations_read == 50
    await cache.get(registry)
    assert registry.organizations_read == 50
    registry.commit(Organization(id="200000007", name="Commune renommée", type="COM"), t0 + timedelta(seconds=3))
    matcher = await cache.get(registry)
    assert registry.organizations_read == 51
    assert matcher.by_id["200000007"].name == "Commune renommée"
    assert full_loads == [50]  # the first load, not the refresh that read one organisation


async def test_refreshes_long_after_a_load_read_no_version_again():
    t0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    registry, cache = RegistryRows(now=t0 + timedelta(seconds=1)), MatcherCache(refresh_seconds=0)
    for n in range(50):  # a référentiel load
        registry.commit(Organization(id=f"2000000{n:02}", name=f"Commune {n}", type="COM"), t0)
    await cache.get(registry)
    registry.now = t0 + timedelta(minutes=2)
    await cache.get(registry)  # still within the overlap of the first refresh: the versions are read again
    registry.versions_read = 0
    for minutes in (3, 4):
        registry.now = t0 + timedelta(minutes=minutes)
        await cache.get(registry)
    assert registry.versions_read == 0
    assert "200000007" in (await cache.get(registry)).by_id


async def test_an_organisation_that_is_no_longer_active_leaves_the_matcher_at_the_next_refresh():
    t0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    registry, cache = RegistryRows(now=t0 + timedelta(seconds=1)), MatcherCache(refresh_seconds=0)
    commune = Organization(id="200000001", name="Communauté de communes A", type="CC")
    registry.commit(commune, t0)
    assert (await cache.get(registry)).match("Communauté de communes A").best is not None
    registry.commit(commune.model_copy(update={"status": "merged"}), t0 + timedelta(seconds=2))
    registry.now = t0 + timedelta(seconds=3)
    matcher = await cache.get(registry)
    assert matcher.match("Communauté de communes A").best is None and "200000001" not in matcher.by_id


async def test_a_refresh_reads_the_aliases_written_since_the_previous_one_only():
    t0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    registry, cache = RegistryRows(now=t0 + timedelta(seconds=1)), MatcherCache(refresh_seconds=0)
    registry.commit(Organization(id="200000001", name="Communauté de communes A", type="CC"), t0)
    registry.commit(Organization(id="200000002", name="Communauté de communes B", type="CC"), t0)
    for n in range(30):
        registry.set_alias(f"portal:a.test|publisher {n}", "200000001", "portal-publisher", t0)
    registry.set_alias("56001", "200000001", "insee", t0)
    matcher = await cache.get(registry)
    assert len(matcher.aliases) == 30  # INSEE codes are matched through the organisations
    # Another instance learns a publisher and moves one, well after the first refresh.
    registry.now = t0 + timedelta(minutes=5)
    await cache.get(registry)
    registry.aliases_read = 0
    registry.set_alias("portal:b.test|new publisher", "200000002", "portal-publisher", t0 + timedelta(minutes=6))
    registry.set_alias("portal:a.test|publisher 3", "200000002", "portal-publisher", t0 + timedelta(minutes=6))
    registry.now = t0 + timedelta(minutes=7)
    matcher = await cache.get(registry)
    assert registry.aliases_read == 2
    assert matcher.aliases["portal:b.test|new publisher"] == "200000002"
    assert matcher.aliases["portal:a.test|publisher 3"] == "200000002"
    assert matcher.aliases["portal:a.test|publisher 4"] == "200000001"
    assert len(matcher.aliases) == 31


@pytest.mark.parametrize(
    "name, departement, hint, expected",
    [
        # Names real publishers write (the examples of issue 26), each with the rule that reads it.
        ("CA GRAND AVIGNON", "84", None, "248400251"),  # the official name carries "(COGA)"
        ("CA DE BLOIS", "41", None, "200030385"),  # ... and ''Agglopolys''
        ("CARENE", "44", None, "244400644"),  # the acronym the official name carries
        ("MEL", "59", None, "200093201"),  # a usual name of shared/usual_names.csv
        ("PONT DE CLAIX", "38", None, "213803174"),  # Le Pont-de-Claix, without its article
        ("PLESSIS TREVISE", "94", None, "219400595"),
        ("CONFLANS SAINT HONORINE", "78", None, "217801729"),  # one letter off, in its département
        ("GUINGUAMP", "22", None, "212200703"),
        ("SAINT DENIS DE LA REUNION", None, None, "219740115"),  # the territory written as a suffix
        ("CD25", "25", None, "DEP-25"),
        ("Département 2A", None, None, "DEP-2A"),
        ("PARIS", "75", None, "217500016"),  # the commune and the département are one council
        ("GUYANE", "973", None, "REG-03"),  # one council for the région and the département
        ("Mairie de Toulouse + Ville de Toulouse*", "31", None, "213105554"),
        ("GUADELOUPE", "971", "REG", "REG-01"),
        ("GUADELOUPE", "971", "DEP", "DEP-971"),
        ("Région Guadeloupe", None, None, "REG-01"),
        # Left unmatched rather than guessed:
        ("GUADELOUPE", "971", None, None),  # a région and a département of that name, no hint, no word
        ("GUINGUAMP", None, None, None),  # no département: no near names
        ("GUINGUAMP", "29", None, None),  # never across départements
        ("Ville de Rennes / Ville de Brest", None, None, None),  # parts that disagree
    ],
)
def test_names_as_real_publishers_write_them(matcher, name, departement, hint, expected):
    result = matcher.match(name, departement=departement, type_hint=hint)
    assert (result.best.organization_id if result.best else None) == expected, result.reason


def test_a_former_name_reaches_its_successor_only_where_no_current_name_does(matcher, referentiel):
    """Every commune déléguée or associée of the package whose name no current commune bears: written
    with its département, the name reaches its commune nouvelle."""

    def without_article(name: str) -> str:
        return re.sub(r"^(le|la|les|l) ", "", normalise(name))

    current = {without_article(o.name) for o in referentiel if o.type == "COM"}
    tried = 0
    for organization in referentiel:
        for p in organization.predecessors:
            if p.kind != "commune-deleguee" or without_article(p.name) in current:
                continue  # "La Longeville" (25), déléguée, is also Longeville (25) without its article
            result = matcher.match(f"Mairie de {p.name}", departement=p.departement)
            assert result.best and result.best.organization_id == organization.id, (p.name, result.reason)
            assert result.best.rule == "former-name"
            tried += 1
    assert tried > 1500
    # A current commune of that name in the département comes first: Annecy is Annecy, not its déléguée.
    annecy = matcher.match("Annecy", departement="74")
    assert annecy.best and annecy.best.rule != "former-name"
    # Without a département, current homonyms stay ambiguous: no former name decides for them.
    assert matcher.match("Saint-Martin").best is None


def test_a_former_siren_reaches_the_epci_that_succeeded(matcher, referentiel):
    successors = [(p.siren, o.id) for o in referentiel for p in o.predecessors if p.kind == "epci" and p.siren]
    assert len(successors) >= 10
    for siren, organization_id in successors:
        result = matcher.match("Un nom qui ne dit rien", siren=siren)
        assert result.best and (result.best.organization_id, result.best.rule) == (organization_id, "former-siren")


@pytest.mark.parametrize(
    ("name", "departement", "expected"),
    [
        ("PROVINCE SUD - NOUVELLE CALEDONIE", "988", "200012490"),
        ("Province des Iles Loyauté", None, "200012979"),
        ("Province Nord", "988", "200012656"),
        ("Gouvernement de la Nouvelle-Calédonie", None, "COLOM-988"),
        ("Gouvernement de la Polynésie française", None, "COLOM-987"),
        ("Collectivité territoriale de Saint-Pierre-et-Miquelon", None, "COLOM-975"),
    ],
)
def test_overseas_councils_the_referentiel_lacks_or_names_otherwise(matcher, name, departement, expected):
    result = matcher.match(name, departement=departement)
    assert result.best and result.best.organization_id == expected, result.reason
    assert matcher.match("Un nom", siren="200024933").best.organization_id == "COLOM-988"


def test_the_portals_owner_decides_between_homonyms_of_which_it_is_one(matcher):
    doubs_commune = next(c for c in matcher.match("DOUBS", departement="25").candidates if c.type == "COM")
    assert matcher.match("DOUBS", departement="25").best is None  # the département and a commune
    assert matcher.match("DOUBS", departement="25", owner="DEP-25").best.organization_id == "DEP-25"
    by_commune = matcher.match("DOUBS", departement="25", owner=doubs_commune.organization_id).best
    assert by_commune.organization_id == doubs_commune.organization_id and by_commune.rule == "name-and-portal-owner"
    besancon = matcher.match("Besançon", departement="25").best.organization_id
    assert matcher.match("DOUBS", departement="25", owner=besancon).best is None  # a third body decides nothing
    # A région and a département of one name: the owner of either kind decides, a commune does not.
    assert matcher.match("GUADELOUPE", departement="971", owner="REG-01").best.organization_id == "REG-01"
    assert matcher.match("GUADELOUPE", departement="971", owner="DEP-971").best.organization_id == "DEP-971"
    pointe = matcher.match("Pointe-à-Pitre", departement="971").best.organization_id
    assert matcher.match("GUADELOUPE", departement="971", owner=pointe).best is None
    # Never against the words: "Commune de ..." stays a commune whoever runs the portal.
    assert matcher.match("Commune de Saint-Denis", owner="DEP-93").best is None
