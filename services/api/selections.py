"""How a list's selection and order become SQL, without I/O: the filters of the organisations and
datasets lists, their sort keys, keyset conditions (`after`) and the words of a title search."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from services.api.search import read_search
from shared.matching import title_words
from shared.population import NO_POPULATION, POPULATION_BOUNDS, population_bounds


class SortKey(NamedTuple):
    expression: str
    descending: bool = False
    nulls_first: bool = False
    nullable: bool = False
    kind: type = str  # of its values, which an `after` token must hold

    def holds(self, value: Any) -> bool:
        """Whether `value` can be this key's (a token's value, checked before any query)."""
        return (value is None and self.nullable) or (type(value) is self.kind)


# Each sort as its ORDER BY keys, the id breaking ties: the indexes of indicators_read.organization_list
# follow them, and keyset pages (`after`) continue them.
SORTS: dict[str, tuple[SortKey, ...]] = {
    "name": (SortKey("o.name"),),
    "-name": (SortKey("o.name", True, True),),
    "population": (SortKey("o.population", False, True, True, int),),
    "-population": (SortKey("o.population", True, False, True, int),),
    "datasets": (SortKey("o.datasets", kind=int),),
    "-datasets": (SortKey("o.datasets", True, True, kind=int),),
    "type": (SortKey("o.type", nullable=True), SortKey("o.name")),
    "relevance": (SortKey("o.name"),),  # without a search; with one, OrganizationFilter.query ranks first
}


ID_KEY = SortKey("o.id")


def order_by(keys: tuple[SortKey, ...]) -> str:
    return ", ".join(
        f"{k.expression}{' DESC' if k.descending else ''} NULLS {'FIRST' if k.nulls_first else 'LAST'}" for k in keys
    )


def after_clause(where: "Where", keys: tuple[SortKey, ...], values: list[Any]) -> None:
    """Rows that come after the row whose sort keys were `values`, in the order of `keys` (keyset
    pagination), written so that the index of the order can start from that row: one row comparison
    when every key goes one way and holds no NULL; else, for some key, every key before it equal and
    that one beyond, with the first key bounded where NULLs cannot come after."""
    first = keys[0]
    if all(not k.nullable and k.descending == first.descending for k in keys):
        row = ", ".join(k.expression for k in keys)
        where.add(f"({row}) {'<' if first.descending else '>'} ({', '.join('?' * len(values))})", *values)
        return
    branches = []
    for n, (key, value) in enumerate(zip(keys, values, strict=True)):
        equal = [
            f"{k.expression} {'IS NOT DISTINCT FROM' if k.nullable else '='} {where.param(v)}"
            for k, v in zip(keys, values[:n], strict=False)
        ]
        if value is None:  # NULLs come first (then anything not NULL is beyond) or last (nothing is)
            beyond = f"{key.expression} IS NOT NULL" if key.nulls_first else "FALSE"
        else:
            beyond = f"{key.expression} {'<' if key.descending else '>'} {where.param(value)}"
            if key.nullable and not key.nulls_first:
                beyond = f"({beyond} OR {key.expression} IS NULL)"
        branches.append(" AND ".join([*equal, beyond]))
    where.add("(" + " OR ".join(f"({b})" for b in branches) + ")")
    if values[0] is not None and (not first.nullable or first.nulls_first):  # no NULL after it
        where.add(f"{first.expression} {'<=' if first.descending else '>='} ?", values[0])


def contains(text: str) -> str:
    """A LIKE pattern for values containing `text`, its wildcards taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Where:
    """A WHERE clause built condition by condition: each `?` of a condition becomes the next `$n`."""

    def __init__(self, sql: str | None = None, *values: Any) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []
        if sql:
            self.add(sql, *values)

    def add(self, sql: str, *values: Any) -> None:
        for value in values:
            self.args.append(value)
            sql = sql.replace("?", f"${len(self.args)}", 1)
        self.clauses.append(sql)

    def param(self, value: Any) -> str:
        """A placeholder for `value`, for SQL written after the conditions (ORDER BY)."""
        self.args.append(value)
        return f"${len(self.args)}"

    def built(self) -> tuple[str, list[Any]]:
        return " AND ".join(self.clauses) or "TRUE", self.args


@dataclass(frozen=True)
class OrganizationFilter:
    """A selection of active organisations (indicators_read.organization_list holds no other)."""

    q: str | None = None
    types: tuple[str, ...] = ()
    region: str | None = None
    departement: str | None = None
    obligated: bool | None = None
    publishes: bool | None = None
    technology: str | None = None  # a portal family among its datasets' portals
    population_bin: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        return self._where().built()

    def query(self, sort: str, after: list[Any] | None = None) -> tuple[str, str, list[Any]]:
        """The WHERE and ORDER BY of a list in this order (from the row after `after`'s sort keys,
        when given), and their arguments."""
        where = self._where()
        keys = (*SORTS[sort], ID_KEY)
        if after is not None:
            after_clause(where, keys, after)
        order = order_by(keys)
        if sort == "relevance" and self.q:
            order = f"{self._rank(where)}, o.population DESC NULLS LAST, o.name, o.id"
        sql, args = where.built()
        return sql, order, args

    def _rank(self, where: Where) -> str:
        """0 the exact name or code, 1 a name that starts with the text, 2 a word that does, 3 others."""
        search = read_search(self.q or "")
        typed, text, place = where.param(search.typed), where.param(search.text), where.param(search.place)
        return f"""CASE WHEN o.search_name IN ({text}, {place}) OR {typed} IN (o.id, o.insee_code, o.siren) THEN 0
            WHEN o.search_name LIKE {text} || '%' OR o.search_name LIKE {place} || '%' THEN 1
            WHEN o.search_name LIKE '% ' || {text} || '%' OR o.search_name LIKE '% ' || {place} || '%' THEN 2
            ELSE 3 END"""

    def _where(self) -> Where:
        where = Where()
        add = where.add
        if self.q:
            search = read_search(self.q)
            named = "o.search_name LIKE ? OR o.id = ? OR o.insee_code = ? OR o.siren = ?"
            typed = (search.typed,) * 3
            if search.departement:  # "Rennes 35": Rennes in the 35, or a name that ends in 35
                add(f"({named} OR (o.search_name LIKE ? AND o.departement = ?))", contains(search.text), *typed,
                    contains(search.place or ""), search.departement)  # fmt: skip
            else:
                add(f"({named})", contains(search.text), *typed)
        if self.types:
            add("o.type = ANY(?::text[])", list(self.types))
        if self.region:
            add("o.region = ?", self.region)
        if self.departement:
            add("o.departement = ?", self.departement)
        if self.obligated is not None:
            add("o.obligated IS NOT DISTINCT FROM ?", self.obligated)
        if self.technology:
            add("? = ANY(o.technologies)", self.technology)
        if self.population_bin:
            low, high = population_bounds(self.population_bin)
            if low is None:
                add("o.population IS NULL")
            else:
                add("o.population >= ?", low)
                if high is not None:
                    add("o.population < ?", high)
        if self.publishes is not None:
            add("o.publishes = ?", self.publishes)
        return where


def sort_keys(row: dict[str, Any], sort: str) -> list[Any]:
    """A row's values of the sort's keys and its id: what `after` continues from."""
    return [row[key.expression.removeprefix("o.")] for key in (*SORTS[sort], ID_KEY)]


@dataclass(frozen=True)
class DatasetFilter:
    organization: str | None = None
    format: str | None = None
    licence: str | None = None
    schema: str | None = None
    q: str | None = None
    modified_since: datetime | None = None
    withdrawn: bool = False

    def selection(self) -> "Selection":
        """Where the selection is read, as `i`, and its conditions: the datasets list's read model
        (indicators_read.datasets), or for a text search the words of the listed datasets' titles
        (indicators_read.dataset_words): a title matches when each word searched (but stop words) begins
        one of its words, and the longest one searched leads the walk down the words' index, in the list's order.
        Within one organisation, its datasets are walked in that order and each title's words looked up
        (the words have no index by organisation: one index fewer written per word, issue 34)."""
        words = sorted(title_words(self.q or ""), key=len, reverse=True) if not self.withdrawn else []
        if words and len(words[0]) >= MIN_LEADING_WORD and not self.organization:
            where = Where("i.word >= ? AND i.word < ?", *prefix_range(words[0]))
            for word in words[1:]:
                where.add(TITLE_HAS_WORD, *prefix_range(word))
            selection = Selection("indicators_read.dataset_words i", True, where)
        elif words and len(words[0]) >= MIN_LEADING_WORD:  # one organisation's datasets, walked in the
            where = Where("i.withdrawn = ?", False)  # list's order, each title's words found by its id
            for word in words:
                where.add(TITLE_HAS_WORD, *prefix_range(word))
            selection = Selection("indicators_read.datasets i", False, where)
        else:  # no word to search by (one letter, stop words only), or the withdrawn datasets: their text
            where = Where("i.withdrawn = ?", self.withdrawn)
            if self.q:
                where.add("i.title ILIKE ?", contains(self.q))
            selection = Selection("indicators_read.datasets i", False, where)
        add = where.add
        if self.organization:
            add("i.organization_id = ?", self.organization)
        if self.format:
            add("i.formats @> ARRAY[?::text]", self.format)
        if self.licence:
            add("i.licence = ?", self.licence)
        if self.schema:
            add("i.schemas @> ARRAY[?::text]", self.schema)
        if self.modified_since:
            add("i.modified >= ?", self.modified_since)
        return selection


MIN_LEADING_WORD = 2  # a search led by one letter would walk a twentieth of every title's words


# A dataset's title has a word beginning with the one searched: its words' rows by (id, word).
TITLE_HAS_WORD = "EXISTS (SELECT FROM indicators_read.dataset_words x WHERE x.id = i.id AND x.word >= ? AND x.word < ?)"


def prefix_range(prefix: str) -> tuple[str, str]:
    """The bounds of the words that begin with `prefix` (the words' column sorts by code point)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


class Selection(NamedTuple):
    relation: str  # a table, as `i`
    distinct: bool  # several of a dataset's rows may match (one per word): each dataset once
    where: Where

    def rows(self) -> str:
        return f"SELECT {'DISTINCT ' if self.distinct else ''}i.id, i.title FROM {self.relation}"


DATASET_KEYS = (SortKey("i.title"), SortKey("i.id"))  # the datasets' one order


def population_case() -> str:
    branches = [f"WHEN o.population IS NULL THEN '{NO_POPULATION}'"]
    for label, low, high in POPULATION_BOUNDS:
        bound = f"o.population < {high}" if high is not None else "TRUE"
        branches.append(f"WHEN o.population >= {low} AND {bound} THEN '{label}'")
    return "CASE " + " ".join(branches) + " END"
