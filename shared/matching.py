"""Matching what portals call a publisher to an organisation of the registry.

Evidence, strongest first:
1. an identifier: a valid SIREN or SIRET the portal gives (udata `business_number_id`);
2. a known alias: a publisher string or portal organisation id already linked to an organisation;
3. the name: normalised (case, accents, punctuation, invisible marks), its type read from the words
   portals use ("Commune de", "Ville de", "Mairie de", "CC du", "Communauté d'agglomération",
   "Métropole", "Département de", "Conseil départemental", "Région"...), and the core name looked up
   among the organisations of that type. Homonyms are decided by the territory (a département given
   by the portal or written in the name, "Saint-Denis (974)", "Saint-Denis de la Réunion"), or by a
   type hint (`REG`, `DEP`, `EPCI`, `COM`, `COLOM`); otherwise the publisher is left unmatched
   rather than guessed. A région and a département of the same name (Guadeloupe, La Réunion) are
   told apart only by a hint or a word ("Région", "Département"), unless one council serves both;
4. the name as people write it: without its article ("Pont-de-Claix" for Le Pont-de-Claix), a
   département by its number ("CD25", "Département 25"), an EPCI by the usual name or acronym its
   official name carries ("CA du Grand Avignon (COGA)", "CA de Blois ''Agglopolys''") or that
   shared/usual_names.csv lists (MEL, GPSO...), names joined by "+" or "/" (every part must name
   the same organisation), and, only once a département narrows the candidates, a name one letter
   off (two in long names): "Guinguamp" is Guingamp (22), never a commune of another département;
5. the portal's owner, when its source names one: among homonyms, the owner itself ("DOUBS" on the
   Département du Doubs' portal); between a région and a département of one name, the one of the
   owner's kind;
6. a former name or SIREN: a commune déléguée or a commune or EPCI gone since an earlier edition of
   the référentiel ("Bellegarde-sur-Valserine" is Valserine-en-Bugey, the Métropole européenne de
   Lille's SIREN before 2020 is the Métropole's), read from the `former-name:` and `former-siren:`
   aliases a référentiel load writes; a current name always comes first.

Every match has a confidence; below `THRESHOLD` the publisher is unmatched. The index is in memory
(about 36,000 organisations) and built from the registry.
"""

import asyncio
import contextlib
import csv
import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from shared.events import Organization
from shared.identifiers import siren_from
from shared.vocabulary import EPCI_TYPES

THRESHOLD = 0.85

CONFIDENCE = {
    "siren": 1.0, "alias": 0.98, "typed-name": 0.95, "name-and-territory": 0.92, "name": 0.9, "usual-name": 0.9,
    "departement-number": 0.95, "near-name-in-territory": 0.86, "former-siren": 0.97, "former-name": 0.9,
    "name-and-portal-owner": 0.92,
}  # fmt: skip
HINT_FAMILIES = {"REG": "region", "DEP": "departement", "EPCI": "epci", "COM": "commune", "COLOM": "colom",
                 **{t: "epci" for t in EPCI_TYPES}}  # fmt: skip
USUAL_NAMES = Path(__file__).with_name("usual_names.csv")
NEAR_CACHE_SIZE = 20_000
ARTICLES = ("le ", "la ", "les ", "l ")
DEPARTEMENT_NUMBER = re.compile(r"^(?:cd|conseil departemental|departement|dept|dep)\s?(\d[\dab]|\d{3})$")
PARTS = re.compile(r"\s[+/]\s")
TYPE_SUFFIXES = (("gouvernement", "region"),)  # "NOUVELLE CALEDONIE GOUVERNEMENT"
USUAL_IN_NAME = re.compile(r"\(([^)]{2,40})\)|''([^']{2,40})''|\"([^\"]{2,40})\"")

FAMILY_OF_TYPE = {
    "COM": "commune",
    "DEP": "departement",
    "REG": "region",
    "COLOM": "colom",
    **{t: "epci" for t in EPCI_TYPES},
}

# Words portals put before a name, normalised, longest first; each says which family follows.
PREFIXES: list[tuple[str, str]] = sorted(
    [
        ("commune", "commune"),
        ("ville", "commune"),
        ("mairie", "commune"),
        ("municipalite", "commune"),
        ("cne", "commune"),
        ("commune nouvelle", "commune"),
        ("departement", "departement"),
        ("conseil departemental", "departement"),
        ("conseil general", "departement"),
        ("cd", "departement"),
        ("collectivite departementale", "departement"),
        ("region", "region"),
        ("conseil regional", "region"),
        ("collectivite territoriale", "region"),
        ("collectivite", "region"),
        ("communaute de communes", "epci"),
        ("cc", "epci"),
        ("communaute d agglomeration", "epci"),
        ("ca", "epci"),
        ("agglomeration", "epci"),
        ("agglo", "epci"),
        ("communaute urbaine", "epci"),
        ("cu", "epci"),
        ("metropole", "epci"),
        ("eurometropole", "epci"),
        ("etablissement public territorial", "epci"),
        ("ept", "epci"),
        ("etp", "epci"),  # a common slip for EPT
        ("gouvernement de la", "region"),  # Gouvernement de la Nouvelle-Calédonie, of Polynésie française
        ("gouvernement de", "region"),
        ("gouvernement", "region"),
    ],
    key=lambda p: -len(p[0]),
)
# The prefixes a name's first word may begin, longest first: most names begin none.
PREFIXES_BY_FIRST_WORD: dict[str, list[tuple[str, str]]] = defaultdict(list)
for _prefix, _family_read in PREFIXES:
    PREFIXES_BY_FIRST_WORD[_prefix.split(" ", 1)[0]].append((_prefix + " ", _family_read))
EPCI_SUFFIXES = ("metropole", "agglomeration", "agglo")
EPCI_ENDINGS = tuple(" " + suffix for suffix in EPCI_SUFFIXES)
CONNECTORS = ("de la", "de l", "des", "du", "de", "d")
# How "du X" and "des X" read once the contraction is undone ("Commune du Mans" is Le Mans).
CONTRACTIONS = {
    "du": ("le ", ""),
    "des": ("les ", ""),
    "de la": ("la ", ""),
    "de l": ("l ", ""),
    "de": ("",),
    "d": ("",),
}
ABBREVIATIONS = {"st": "saint", "ste": "sainte", "s": "saint"}
FORMER_PREFIXES = ("former-name:", "former-siren:")
# Accents once decomposed, and invisible marks (soft hyphen, zero-width spaces, direction marks):
# dropped, where other punctuation separates words. A regular expression, not a test of each
# character's Unicode category: matching spends most of its time here.
MARKS = re.compile("[\u0300-\u036f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
NOT_A_WORD = re.compile(r"[^a-z0-9]+")
TERRITORY = re.compile(r"\(\s*(\d[\dab]|\d{3})\s*\)\s*$")


class Candidate(NamedTuple):  # a tuple: built for every match, where a frozen dataclass cost 5 % of it
    organization_id: str
    name: str
    type: str | None
    departement: str | None
    confidence: float
    rule: str


class MatchResult(NamedTuple):  # a tuple too: one per match
    best: Candidate | None  # above the threshold and unambiguous, else None
    candidates: list[Candidate]
    reason: str = ""

    @property
    def matched(self) -> bool:
        return self.best is not None


def normalise(text: str) -> str:
    """Lower case, no accents, no invisible marks, words separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.replace("&", " et "))
    if not decomposed.isascii():
        decomposed = MARKS.sub("", decomposed)
    words = NOT_A_WORD.sub(" ", decomposed.casefold()).split()
    return " ".join(ABBREVIATIONS.get(w, w) for w in words)


def search_words(text: str) -> list[str]:
    """The words of a text (a dataset's title, a search): normalised, each once, in order."""
    return list(dict.fromkeys(normalise(text).split()))


# Articles, prepositions and conjunctions: a fifth of the words of real titles, each in a large share
# of them, so they neither narrow a search nor are worth an index row each.
STOP_WORDS = frozenset((
    "a", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les",
    "ou", "par", "pour", "sur", "un", "une",
))  # fmt: skip


def title_words(text: str) -> list[str]:
    """The words a dataset's title is found by, and those a search looks for: its search_words but
    the STOP_WORDS."""
    return [word for word in search_words(text) if word not in STOP_WORDS]


def strip_prefix(text: str) -> tuple[str | None, str]:
    """('commune', 'de rennes') for 'commune de rennes'; (None, text) when no prefix is known."""
    for prefix, family in PREFIXES_BY_FIRST_WORD.get(text.partition(" ")[0], ()):
        if text.startswith(prefix):  # prefix ends with its space: "commune "
            return family, text[len(prefix) :]
    return None, text


def core_variants(rest: str) -> list[str]:
    """The names `rest` may stand for once the connector after a prefix is removed."""
    first, _, tail = rest.partition(" ")
    if first == "de" and tail.startswith(("la ", "l ")):
        article, _, tail = tail.partition(" ")
        first = f"de {article}"
    if first in CONTRACTIONS and tail:
        return [article + tail for article in CONTRACTIONS[first]]
    return [rest]


def epci_core(normalised_name: str) -> str:
    """'cc du pays de lumbres' -> 'pays de lumbres'; 'rennes metropole' -> 'rennes'."""
    return core_of(*strip_prefix(normalised_name))


def core_of(family: str | None, rest: str) -> str:
    """epci_core of a name whose prefix is already read: `strip_prefix` gave (family, rest)."""
    if family == "epci":
        rest = core_variants(rest)[-1]
    for suffix in EPCI_SUFFIXES:
        if rest.endswith(" " + suffix):
            rest = rest[: -len(suffix) - 1]
    return rest


@dataclass(frozen=True, slots=True)
class Indexed:
    """What matching needs of an active organisation. Every consolidator instance (and the api) keeps
    tens of thousands of them: a whole Organization (provenance, obligation, aliases...) took about
    5 kB each, 180 MiB for the référentiel; the full state stays in the registry."""

    id: str
    name: str
    type: str | None
    siren: str | None
    departement: str | None
    council_id: str | None = None  # the council that serves it, when one serves several entries
    region: str | None = None

    @classmethod
    def of(cls, organization: Organization) -> "Indexed":
        o = organization
        return cls(o.id, o.name, o.type, o.siren, o.departement, o.council_id, o.region)


class Matcher:
    def __init__(
        self,
        organizations: Iterable[Organization],
        aliases: dict[str, str] | None = None,
        usual_names: dict[str, str] | None = None,
    ) -> None:
        self.by_id: dict[str, Indexed] = {}
        self.by_family: dict[tuple[str, str], list[Indexed]] = defaultdict(list)
        self.by_name: dict[str, list[Indexed]] = defaultdict(list)
        self.by_territory: dict[str, list[Indexed]] = defaultdict(list)  # communes and EPCI, for near names
        self.departement_names: dict[str, list[Indexed]] = defaultdict(list)  # "reunion" -> DEP-974...
        self.aliases: dict[str, str] = {}
        self.former_names: dict[str, dict[tuple[str, str], None]] = defaultdict(dict)  # key -> (dép., id)
        self.usual_names = {
            normalise(k): v for k, v in (read_usual_names() if usual_names is None else usual_names).items()
        }
        self._indexed: dict[str, Indexed] = {}  # id -> the version of it the indexes hold
        # Near names cost a scan of the département: kept until the index changes (publishers repeat).
        self._near_cache: dict[tuple[str, str, str | None], MatchResult] = {}
        for alias, organization_id in (aliases or {}).items():
            self.learn_alias(alias, organization_id)
        for organization in organizations:
            self.upsert(organization)

    def upsert(self, organization: Organization) -> None:
        """Index `organization`, replacing what was indexed for its id; inactive ones are removed."""
        self.index(Indexed.of(organization), active=organization.status == "active")
        for alias in organization.aliases:
            if alias.startswith(FORMER_PREFIXES):
                self.learn_alias(alias, organization.id)

    def learn_alias(self, alias: str, organization_id: str) -> None:
        """Remember an alias; a former name (`former-name:<département>:<name>`) is also indexed by name."""
        self.aliases[alias] = organization_id
        if alias.startswith("former-name:"):
            _, departement, name = alias.split(":", 2)
            normalised = normalise(name)
            for key in {normalised, epci_core(normalised), *core_variants(normalised)}:
                self.former_names[key][(departement, organization_id)] = None
            self._near_cache.clear()

    def index(self, entry: Indexed, active: bool) -> None:
        """Index `entry`, replacing what was indexed for its id; removed when it is no longer active."""
        self._remove(entry.id)
        self._near_cache.clear()
        if not active:
            return
        self._indexed[entry.id] = entry
        self.by_id[entry.id] = entry
        if entry.siren:
            self.by_id.setdefault(entry.siren, entry)
        for index, key in self._keys(entry):
            index[key].append(entry)

    def _remove(self, organization_id: str) -> None:
        previous = self._indexed.pop(organization_id, None)
        if previous is None:
            return
        for index, key in self._keys(previous):
            index[key] = [o for o in index[key] if o.id != organization_id]
        for key in (organization_id, previous.siren):
            if key and key in self.by_id and self.by_id[key].id == organization_id:
                del self.by_id[key]

    def _keys(self, organization: Indexed) -> list[tuple[dict[Any, list[Indexed]], Any]]:
        names = name_keys(organization)
        keys: list[tuple[dict[Any, list[Indexed]], Any]] = [(self.by_name, n) for n in names]
        family = FAMILY_OF_TYPE.get(organization.type or "")
        if family == "epci":
            keys += [(self.by_family, ("epci", epci_core(n))) for n in names]
            keys += [(self.by_family, ("epci", n)) for n in names]
        elif family:
            keys += [(self.by_family, (family, n)) for n in names]
        if family in ("commune", "epci") and organization.departement:
            keys.append((self.by_territory, organization.departement))
        if family in ("departement", "colom"):
            keys += [(self.departement_names, n) for n in names]
        unique: dict[tuple[int, Any], tuple[dict[Any, list[Indexed]], Any]] = {}
        for index, key in keys:
            unique.setdefault((id(index), key), (index, key))
        return list(unique.values())

    def match(
        self,
        name: str,
        *,
        siren: str | None = None,
        departement: str | None = None,
        alias_keys: Iterable[str] = (),
        type_hint: str | None = None,
        owner: str | None = None,
    ) -> MatchResult:
        result = self._match(name, siren, departement, alias_keys, type_hint)
        if owner and not result.best and len(result.candidates) > 1:
            return self._decided_by_owner(result, self.by_id.get(self.aliases.get(owner, owner)))
        return result

    def _decided_by_owner(self, result: MatchResult, owner: Indexed | None) -> MatchResult:
        """Homonyms the portal's owner decides: itself among them ("DOUBS" on the Doubs' portal, not
        the commune Doubs), or, between a région and a département of one name, the one of its kind."""
        if owner is None:
            return result
        found = [c for c in result.candidates if c.organization_id == owner.id]
        families = {FAMILY_OF_TYPE.get(c.type or "") for c in result.candidates}
        if not found and families == {"region", "departement"}:
            found = [c for c in result.candidates if FAMILY_OF_TYPE.get(c.type or "") == _family(owner)]
        if len(found) != 1:
            return result
        return self._result([self.by_id[found[0].organization_id]], "name-and-portal-owner")

    def _match(
        self, name: str, siren: str | None, departement: str | None, alias_keys: Iterable[str], type_hint: str | None
    ) -> MatchResult:
        identified = siren_from(siren) if siren else None
        if identified and identified in self.by_id:
            return self._result([self.by_id[identified]], "siren")
        if identified and (successor := self.by_id.get(self.aliases.get(f"former-siren:{identified}", ""))):
            return self._result([successor], "former-siren")
        for key in alias_keys:
            if key in self.aliases and self.aliases[key] in self.by_id:
                return self._result([self.by_id[self.aliases[key]]], "alias")
        hint = HINT_FAMILIES.get(type_hint.upper()) if type_hint else None
        if "+" in name and " " not in name.strip():
            name = name.replace("+", " ")  # a name URL-encoded: "Ville+de+Quiberon"
        parts = [p for p in PARTS.split(name) if normalise(p)] if " + " in name or " / " in name else [name]
        if len(parts) < 2:
            return self._by_name(name, departement, hint)
        # "Mairie de Toulouse + Ville de Toulouse": every part that names an organisation names the same one.
        results = [self._by_name(p, departement, hint) for p in parts]
        named = {r.best.organization_id for r in results if r.best}
        if len(named) == 1 and all(r.best or not r.candidates for r in results):
            return next(r for r in results if r.best)
        candidates = [c for r in results for c in r.candidates]
        reason = "its parts name different organisations" if named else "no part names one organisation"
        return MatchResult(None, candidates, reason)

    def _by_name(self, name: str, departement: str | None, hint: str | None) -> MatchResult:
        text = normalise(name)
        if ")" in name and (written := TERRITORY.search(name.strip())):
            departement = departement or written.group(1).upper()
            text = normalise(TERRITORY.sub("", name.strip()))
        if not text:
            return MatchResult(None, [], "empty name")
        if (
            text[0] in "cd"
            and (number := DEPARTEMENT_NUMBER.match(text))
            and (council := self.by_id.get(f"DEP-{number[1].upper()}"))
        ):
            return self._result([council], "departement-number")
        if (usual := self.usual_names.get(text)) and usual in self.by_id:
            return self._result([self.by_id[usual]], "usual-name")
        result = self._named(text, departement, hint)
        if result.best:
            return result
        # A former name, unless a current organisation of that name is in the territory (or, with no
        # territory given, unless current homonyms already make the name ambiguous).
        in_territory = departement and any(c.departement == departement for c in result.candidates)
        if self.former_names and not in_territory and (departement or not result.candidates):
            former = self._former(text, departement, hint)
            if former.best or (former.candidates and not result.candidates):
                return former
        if result.candidates:
            return result
        if USUAL_IN_NAME.search(name):  # "EPT GRAND PARIS SEINE OUEST (GPSO - T3)", "CU ... (GPSEO)"
            for other in (normalise(USUAL_IN_NAME.sub(" ", name)), *self._bracketed(name)):
                named = self._by_name(other, departement, hint) if other and other != text else None
                if named and named.best:
                    return named
        for suffix, code in self._territory_suffixes(text):  # "saint denis de la reunion"
            if not departement or departement == code:
                found = self._named(text[: -len(suffix)].strip(), code, hint)
                if found.best or found.candidates:
                    return found
        if departement:
            key = (text, departement, hint)
            if key not in self._near_cache:
                if len(self._near_cache) >= NEAR_CACHE_SIZE:
                    self._near_cache.clear()
                self._near_cache[key] = self._near(text, departement, hint)
            return self._near_cache[key]
        return result

    @staticmethod
    def _bracketed(name: str) -> list[str]:
        """What a name carries in brackets or quotes, each word group apart ("GPSO - T3": gpso, t3)."""
        groups = [next(g for g in m.groups() if g) for m in USUAL_IN_NAME.finditer(name)]
        return [normalise(piece) for g in groups for piece in re.split(r"\s-\s|,", g) if normalise(piece)]

    def _named(self, text: str, departement: str | None, hint: str | None) -> MatchResult:
        family, rest = strip_prefix(text)
        for suffix, suffix_family in TYPE_SUFFIXES:
            if family is None and text.endswith(" " + suffix):
                family, rest = suffix_family, text[: -len(suffix) - 1]
        found: list[Indexed] = []
        rule = "typed-name"
        searched = family or (hint if hint != "colom" else None)
        if searched is not None:
            variants = core_variants(rest) + ([rest] if searched == "epci" else [])
            if searched == "epci":
                variants = [core_of(family, rest), *variants]  # what strip_prefix(text) gave
                variants += [v.split(" ", 1)[1] for v in variants if v.startswith(ARTICLES)]
            for variant in variants:
                found = self.by_family.get((searched, variant), []) + (
                    self.by_family.get(("colom", variant), []) if searched == "region" else []
                )
                if found:
                    break
            if family is None:
                rule = "name"
        else:
            rule = "name"
            found = list(self.by_name.get(text, []))
            if not found and text.endswith(EPCI_ENDINGS):
                found = self.by_family.get(("epci", epci_core(text)), [])
                rule = "typed-name"
        if len(found) > 1:
            found = _distinct(found)
        if hint:
            found = [o for o in found if _family(o) == hint or (hint == "region" and o.type == "COLOM")]
        if len(found) > 1:
            found = self._one_council(found)
        if family is None and hint is None and len(found) > 1 and {"region", "departement"} <= set(map(_family, found)):
            reason = "a région and a département of that name: a word or a type hint decides"
            return MatchResult(None, self._candidates(found, rule), reason)
        if len(found) > 1 and departement:
            in_territory = [o for o in found if self._serves(o, departement)]
            if in_territory:
                found, rule = in_territory, "name-and-territory"
        if len(found) > 1:
            return MatchResult(None, self._candidates(found, rule), f"{len(found)} homonyms, no territory to decide")
        if not found:
            return MatchResult(None, [], "no organisation with that name")
        if departement and found[0].departement and found[0].departement != departement and found[0].type == "COM":
            return MatchResult(None, self._candidates(found, rule), "the only homonym is in another département")
        return self._result(found, rule)

    def _former(self, text: str, departement: str | None, hint: str | None) -> MatchResult:
        """The organisation that succeeded a commune or EPCI of that name (of that département, if given)."""
        family, rest = strip_prefix(text)
        kind = family or hint
        keys = [text, *(core_variants(rest) if family else ()), epci_core(text)]
        found = [
            self.by_id[organization_id]
            for key in dict.fromkeys(keys)
            for former_in, organization_id in self.former_names.get(key, {})
            if organization_id in self.by_id and (departement is None or former_in == departement)
        ]
        found = [o for o in _distinct(found) if kind is None or _family(o) == kind]
        if len(found) > 1:
            return MatchResult(None, self._candidates(found, "former-name"), f"{len(found)} successors of that name")
        return self._result(found, "former-name") if found else MatchResult(None, [], "no organisation with that name")

    def _serves(self, organization: Indexed, departement: str) -> bool:
        """Whether the organisation is of that département, or is the région it lies in."""
        if organization.type == "REG":
            council = self.by_id.get(f"DEP-{departement}")
            return council is not None and council.region == organization.region
        return organization.departement == departement

    def _one_council(self, found: list[Indexed]) -> list[Indexed]:
        """Entries one council serves (Paris the commune and the département, Guyane) are that council."""
        councils = {o.council_id or o.id for o in found}
        if len(found) > 1 and len(councils) == 1 and (council := self.by_id.get(councils.pop())):
            return [council]
        return found

    def _territory_suffixes(self, text: str) -> list[tuple[str, str]]:
        """The département names `text` ends with ("... de la reunion"), as (suffix, code)."""
        words = text.split()
        found = []
        for size in range(min(4, len(words) - 1), 0, -1):
            tail = " ".join(words[-size:])
            for council in self.departement_names.get(tail, []):
                for connector in CONNECTORS:
                    if text.endswith(f" {connector} {tail}"):
                        found.append((f"{connector} {tail}", council.departement or ""))
                found.append((tail, council.departement or ""))
        return [(suffix, code) for suffix, code in found if code]

    def _near(self, text: str, departement: str, hint: str | None) -> MatchResult:
        """A commune or EPCI of `departement` whose name is one letter off (two past 12 letters)."""
        if len(text) < 5:
            return MatchResult(None, [], "no organisation with that name")
        limit = 1 if len(text) < 12 else 2
        family, rest = strip_prefix(text)
        wanted = {text, *(core_variants(rest) if family else ())}
        kind = family or hint
        council = self.by_id.get(f"DEP-{departement}") or self.by_id.get(f"COLOM-{departement}")
        nearby = [*self.by_territory.get(departement, []), *([council] if council else [])]
        near = [
            o
            for o in nearby
            if (kind is None or _family(o) == kind or (kind == "region" and o.type == "COLOM"))
            and any(within(w, key, limit) for w in wanted for key in name_keys(o, with_core=True))
        ]
        near = _distinct(near)
        if len(near) == 1:
            return self._result(near, "near-name-in-territory")
        reason = f"{len(near)} names one letter off in the département" if near else "no organisation with that name"
        return MatchResult(None, self._candidates(near, "near-name-in-territory"), reason)

    def _result(self, found: list[Indexed], rule: str) -> MatchResult:
        candidates = self._candidates(found, rule)
        best = candidates[0] if len(candidates) == 1 and candidates[0].confidence >= THRESHOLD else None
        return MatchResult(best, candidates, "" if best else "below the threshold")

    @staticmethod
    def _candidates(found: list[Indexed], rule: str) -> list[Candidate]:
        return [Candidate(o.id, o.name, o.type, o.departement, CONFIDENCE[rule], rule) for o in found]


def _family(organization: Indexed) -> str | None:
    return FAMILY_OF_TYPE.get(organization.type or "")


def name_keys(organization: Indexed, with_core: bool = False) -> list[str]:
    """The names an organisation is looked up by: its own, without its article, and for an EPCI the
    usual name or acronym its official name carries, and its name without them."""
    name = normalise(organization.name)
    keys = [name]
    if name.startswith(ARTICLES):
        keys.append(name.split(" ", 1)[1])
    if _family(organization) == "epci":
        usual = [normalise(next(g for g in m.groups() if g)) for m in USUAL_IN_NAME.finditer(organization.name)]
        keys += [u for u in usual if u]
        if usual:
            keys.append(normalise(USUAL_IN_NAME.sub(" ", organization.name)))
        if with_core:
            keys += [epci_core(k) for k in keys]
        # "CA Communauté Paris-Saclay" is written "Communauté d'agglomération Paris-Saclay".
        keys += [k.replace(f"{word} communaute ", f"{word} ", 1) for k in keys for word in ("ca", "cc", "cu")]
    return list(dict.fromkeys(k for k in keys if k))


def within(a: str, b: str, limit: int) -> bool:
    """Whether a and b are at most `limit` insertions, deletions or substitutions apart."""
    if abs(len(a) - len(b)) > limit:
        return False
    if a == b:
        return True
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
        if min(current) > limit:
            return False
        previous = current
    return previous[-1] <= limit


def read_usual_names(path: Path = USUAL_NAMES) -> dict[str, str]:
    """Usual names and acronyms -> organisation id (shared/usual_names.csv, with its provenance)."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = [line for line in f if not line.startswith("#")]
    return {r["usual_name"]: r["organization_id"] for r in csv.DictReader(rows)}


def _distinct(organizations: list[Indexed]) -> list[Indexed]:
    return list({o.id: o for o in organizations}.values())


class MatcherCache:
    """A matcher kept up to date from the registry (the consolidator owns it; the api reads it): the
    first use loads every active organisation and alias, later uses reload what changed since, at
    most every `refresh_seconds`."""

    # `updated_at` is when the writing transaction began, not when it committed: a row committed after
    # the last refresh may carry an earlier time. Each refresh reads back this far before the previous
    # one began (longer than any transaction of the registry) and skips what it already holds.
    OVERLAP = timedelta(seconds=60)

    FULL_LOAD = 1000  # organisations read at once: a first load or a référentiel load, not a few changes

    def __init__(self, refresh_seconds: float = 5.0, after_full_load: Callable[[], None] | None = None) -> None:
        self.refresh_seconds = refresh_seconds
        self.after_full_load = after_full_load  # e.g. a process that keeps the organisations long: gc.freeze
        self.matcher = Matcher(())
        self._last_read_at: datetime | None = None  # when the previous refresh began, by the registry's clock
        self._versions: dict[str, datetime] = {}  # organisation id -> updated_at of the state indexed
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, conn: Any, *, force: bool = False) -> Matcher:
        now = time.monotonic()
        if force or now - self._checked_at >= self.refresh_seconds:
            async with self._lock:
                await self._refresh(conn)
                self._checked_at = now
        return self.matcher

    async def _refresh(self, conn: Any) -> None:
        read_at = await conn.fetchval("SELECT now()")
        since = self._last_read_at - self.OVERLAP if self._last_read_at else None
        # Versions first, then only what changed. The window starts from the previous refresh, not from
        # the newest row: after a référentiel load, every refresh read all its rows' versions again.
        changed_since = "WHERE ($1::timestamptz IS NULL OR updated_at > $1)"
        versions = await conn.fetch(f"SELECT id, updated_at FROM registry_read.organizations {changed_since}", since)
        changed = [r["id"] for r in versions if self._versions.get(r["id"]) != r["updated_at"]]
        if changed:
            # The columns matching needs, not the whole state (no JSON to parse for 36,000 organisations).
            rows = await conn.fetch(
                """SELECT id, name, type, siren, departement, council_id, region, status, updated_at
                   FROM registry_read.organizations
                   WHERE id = ANY($1::text[])""",
                changed,
            )
            for row in rows:
                entry = Indexed(
                    row["id"], row["name"], row["type"], row["siren"], row["departement"], row.get("council_id"),
                    row.get("region"),
                )  # fmt: skip
                self.matcher.index(entry, active=row["status"] == "active")
                self._versions[row["id"]] = row["updated_at"]
            if len(rows) > self.FULL_LOAD and self.after_full_load:
                self.after_full_load()
        # INSEE codes are matched through the organisations themselves, not as aliases.
        aliases = await conn.fetch(
            f"SELECT alias, organization_id FROM registry_read.aliases {changed_since} AND kind <> 'insee'", since
        )
        for r in aliases:
            self.matcher.learn_alias(r["alias"], r["organization_id"])
        self._last_read_at = read_at

    def reset(self) -> None:
        """Forget everything (what was remembered may have been rolled back): reload on next use."""
        self.matcher = Matcher(())
        self._last_read_at = None
        self._versions = {}
        self._checked_at = 0.0

    @contextlib.contextmanager
    def rolled_back_with(self) -> Iterator[None]:
        """Around a handler that `remember`s what its transaction writes: if it fails, forget everything."""
        try:
            yield
        except BaseException:
            self.reset()
            raise

    def remember(self, organization: Organization) -> None:
        """Index an organisation the caller just wrote, before the next refresh sees it."""
        self.matcher.upsert(organization)
