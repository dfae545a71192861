"""Score parsed addresses against annotated ones: pure functions over tagged spans.

A component counts as found when the parser gives the gold tag the gold span exactly:
``(tag, start, end)`` in characters of the corpus text. Per tag, precision is found / given,
recall found / annotated, F1 their harmonic mean. An address is an exact match when its
predicted spans of the scored tags (:data:`EXACT_TAGS`) equal its gold spans of those tags.

cpca gives names without spans, so it is scored on prov, city and district by the text of
the gold component (:func:`cpca_counts`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from popbase.address.gazetteer import MUNICIPALITIES, china_divisions, historical_districts

# The tags of the shared set that the parser emits and the corpora annotate.
SCORED_TAGS = (
    "prov", "city", "district", "devzone", "town", "community", "village_group", "road",
    "roadno", "subroad", "subroadno", "poi", "subpoi", "houseno", "cellno", "floorno", "roomno",
)  # fmt: skip
# Issue 3 §5: the tags whose spans must all be right for an exact match.
EXACT_TAGS = (
    "prov", "city", "district", "town", "community", "road", "roadno", "houseno", "cellno",
    "floorno", "roomno",
)  # fmt: skip
CPCA_TAGS = ("prov", "city", "district")
# Suffixes dropped before names are compared (上海市 = 上海, 浦东新区 = 浦东区 = 浦东).
_ADMIN_SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "新区",
    "地区",
    "省",
    "市",
    "区",
    "县",
)

Span = tuple[str, int, int]


@dataclass(slots=True)
class Counts:
    """True positives, false positives and false negatives of one tag."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        """Add another tally to this one."""
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def as_dict(self) -> dict[str, float | int]:
        """``precision, recall, f1, support`` (support: the gold components)."""
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f, 4),
            "support": self.tp + self.fn,
        }


def span_counts(
    gold: Iterable[Span], pred: Iterable[Span], tags: Iterable[str] = SCORED_TAGS
) -> dict[str, Counts]:
    """Per-tag counts of one address: spans equal in tag, start and end are true positives.

    Examples
    --------
    >>> c = span_counts([("road", 0, 3), ("roadno", 3, 7)], [("road", 0, 3), ("roadno", 3, 6)])
    >>> c["road"], c["roadno"]
    (Counts(tp=1, fp=0, fn=0), Counts(tp=0, fp=1, fn=1))
    """
    wanted = set(tags)
    g = {s for s in gold if s[0] in wanted}
    p = {s for s in pred if s[0] in wanted}
    out = {t: Counts() for t in wanted}
    for tag, _, _ in g & p:
        out[tag].tp += 1
    for tag, _, _ in p - g:
        out[tag].fp += 1
    for tag, _, _ in g - p:
        out[tag].fn += 1
    return out


def exact_match(
    gold: Iterable[Span], pred: Iterable[Span], tags: Iterable[str] = EXACT_TAGS
) -> bool:
    """Whether the spans of ``tags`` are the same in gold and prediction.

    Examples
    --------
    >>> exact_match([("road", 0, 3), ("poi", 3, 5)], [("road", 0, 3)])
    True
    """
    wanted = set(tags)
    return {s for s in gold if s[0] in wanted} == {s for s in pred if s[0] in wanted}


def total_counts(per_address: Iterable[Mapping[str, Counts]]) -> dict[str, Counts]:
    """Sum per-address counts tag by tag."""
    out: dict[str, Counts] = {}
    for counts in per_address:
        for tag, c in counts.items():
            out.setdefault(tag, Counts()).add(c)
    return out


def report(
    counts: Mapping[str, Counts], tags: Iterable[str] = SCORED_TAGS
) -> dict[str, dict[str, float | int]]:
    """Scores of the tags that occur in gold or prediction, in the order of ``tags``."""
    return {
        t: counts[t].as_dict()
        for t in tags
        if t in counts and counts[t].tp + counts[t].fp + counts[t].fn
    }


def name_stem(name: str) -> str:
    """A division name without its administrative suffix, for comparing names.

    Examples
    --------
    >>> [name_stem(n) for n in ("上海市", "上海", "浦东新区", "浦东区", "内蒙古自治区")]
    ['上海', '上海', '浦东', '浦东', '内蒙古']
    """
    for suffix in _ADMIN_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def cpca_counts(text: str, gold: Mapping[str, str], cpca: Mapping[str, str]) -> dict[str, Counts]:
    """Score cpca's prov/city/district of one address by the text of the gold components.

    cpca returns canonical names, filled in where the text lacks them, and no spans. A
    name counts as cpca's reading of the text only when its stem occurs in the text: a
    province inferred from a city is no reading and is ignored, neither right nor wrong.
    For a municipality cpca writes the city as 市辖区 (or nothing, when it found no
    district); either is read as the municipality's name, and the province (the same
    name) counts only when the stem occurs twice (上海上海市). A reading is right when its
    stem equals the gold component's stem (上海市 = 上海, 浦东新区 = 浦东区).

    Parameters
    ----------
    text
        The corpus text.
    gold
        Tag → gold component text, for prov, city and district (absent when not annotated).
    cpca
        Tag → cpca's name (``""`` or absent when it found none).

    Examples
    --------
    >>> c = cpca_counts("上海市闵行区", {"city": "上海市", "district": "闵行区"},
    ...                 {"prov": "上海市", "city": "市辖区", "district": "闵行区"})
    >>> c["prov"], c["city"], c["district"]
    (Counts(tp=0, fp=0, fn=0), Counts(tp=1, fp=0, fn=0), Counts(tp=1, fp=0, fn=0))
    """
    prov = cpca.get("prov") or ""
    city = cpca.get("city") or ""
    if city == "市辖区" or (not city and prov in MUNICIPALITIES):
        city = prov
    names = {"prov": prov, "city": city, "district": cpca.get("district") or ""}
    out = {t: Counts() for t in CPCA_TAGS}
    for tag in CPCA_TAGS:
        name = names[tag]
        stem = name_stem(name) if name else ""
        needed = 2 if tag == "prov" and name and name == city else 1
        read = bool(stem) and text.count(stem) >= needed
        truth = gold.get(tag)
        if read and truth is not None and name_stem(truth) == stem:
            out[tag].tp += 1
            continue
        if read:
            out[tag].fp += 1
        if truth is not None:
            out[tag].fn += 1
    return out


@cache
def _shanghai_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(Shanghai's district names, today's and old; other provinces' and cities' stems)."""
    districts = {n for tag, n, c in china_divisions() if tag == "district" and c.startswith("31")}
    districts |= {n for n, _, _ in historical_districts()}
    districts.add("浦东")
    others = {
        name_stem(n)
        for tag, n, c in china_divisions()
        if tag in ("prov", "city") and not c.startswith("31")
    }
    return tuple(sorted(districts)), tuple(sorted(o for o in others if len(o) >= 2))


@cache
def _shared_districts() -> frozenset[str]:
    """Shanghai district names that another city's district also has (普陀区, 宝山区)."""
    divisions = china_divisions()
    shanghai = {n for tag, n, c in divisions if tag == "district" and c.startswith("31")}
    return (
        frozenset(n for tag, n, c in divisions if tag == "district" and not c.startswith("31"))
        & shanghai
    )


def is_shanghai(text: str) -> bool:
    """Whether an address is in Shanghai, judged from its first 10 characters.

    It is when they contain 上海 or the full name of a Shanghai district (today's or an
    abolished one, or 浦东), and no other province's or city's name comes before it
    (浙江省舟山市普陀区 is not Shanghai's 普陀区). A line that starts with a bare 普陀区 or
    宝山区 (names shared with Zhoushan and Shuangyashan) counts as Shanghai unless another
    city's name follows anywhere in it (普陀区舟山朱家尖).

    Examples
    --------
    >>> [is_shanghai(t) for t in ("上海市闵行区", "闵行区七莘路", "浙江省舟山市普陀区", "杭州")]
    [True, True, False, False]
    >>> [is_shanghai(t) for t in ("普陀区真北路", "普陀区舟山朱家尖慈航广场")]
    [True, False]
    """
    head = text[:10]
    districts, others = _shanghai_names()
    hits = {n: head.find(n) for n in ("上海", *districts) if n in head}
    if not hits:
        return False
    first = min(hits.values())
    if any(0 <= head.find(o) < first for o in others):
        return False
    # A bare shared name may be the other city's: then its name anywhere says so. (Only
    # then: Shanghai's roads bear other cities' names, 南京西路, 四川北路.)
    named = min(hits, key=lambda n: hits[n])
    return named not in _shared_districts() or not any(o in text for o in others)
