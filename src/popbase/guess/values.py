"""What a column's values look like: the evidence that confirms or corrects a header.

A header says what a department meant; the values say what it delivered. 18 characters
whose GB 11643 check digit is right are ID numbers, 18 characters with a right GB 32100
check character are credit codes, ``1[3-9]`` and nine digits are mobile numbers, and
numbers between 73 and 136 with decimals are longitudes within China. Dates and the
words of sex, statuses and building use are read as the build reads them (every date
form of :mod:`popbase.values.dates`, the words of the vocabulary). :func:`profile`
measures, over a sample of a column's values, the share of each shape in :data:`SHAPES`
and :data:`WORD_SHAPES`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Final

import pyarrow as pa

from popbase.population.credit_code import validate_credit_code
from popbase.population.phone import validate_phone
from popbase.population.resident_id import validate_id_number
from popbase.values.dates import read_dates
from popbase.values.vocabulary import MISSING, Vocabulary, load_vocabulary, word_keys

__all__ = ["SHAPES", "WORD_SHAPES", "ValueProfile", "profile", "value_date"]

_DATES: Final = (
    # 2026-09-05, 2026/9/5, 2026.9.5, 2026-09, with a time or not
    re.compile(
        r"(?P<y>(19|20)\d\d)[-/.](?P<m>0?[1-9]|1[0-2])([-/.](?P<d>0?[1-9]|[12]\d|3[01]))?"
        r"([ T]\d{1,2}:\d\d(:\d\d(\.\d+)?)?)?"
    ),
    # 2026年9月5日, 2026年9月
    re.compile(r"(?P<y>(19|20)\d\d)年(?P<m>0?[1-9]|1[0-2])月((?P<d>0?[1-9]|[12]\d|3[01])日?)?"),
    # 20260905, 202609
    re.compile(r"(?P<y>(19|20)\d\d)(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])?"),
    # 二〇二六年九月
    re.compile(
        r"[〇零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,3}月([一二三四五六七八九十]{1,3}日)?"
    ),
)
_INTEGER: Final = re.compile(r"[+-]?\d+")
_NUMBER: Final = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_CJK: Final = "\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ffff"
# Two to four characters, or a name with a middle dot (阿依古丽·买买提), or 王先生/李女士.
_PERSON_NAME: Final = re.compile(
    rf"[{_CJK}]{{2,4}}|[{_CJK}]{{1,10}}[·•・.．][{_CJK}·•・.．]{{1,20}}|[{_CJK}]{{1,2}}(先生|女士)"
)
# Ends of place and organisation names (江川路小学, 古美社区, 永顾物业公司): not a person's.
_NOT_A_PERSON: Final = re.compile(
    r"(小学|中学|大学|学校|学院|幼儿园|托育|医院|诊所|中心|公司|委员会|居委会|村委会|街道|社区|"
    r"花园|小区|新村|广场|大厦|商场|超市|银行|酒店|宾馆|饭店|餐厅|公园|"
    r"[路街巷弄号区市县镇乡村站馆局所店厂场楼室部处队])$"
)
_ADDRESS_WORDS: Final = re.compile(r"[路街道弄号室村组巷幢栋楼区镇里苑]")
_DIVISION_SUFFIX: Final = re.compile(
    r"(省|市|区|县|旗|街道|镇|乡|居委会|村委会|居民委员会|村民委员会|社区|村|管委会|工业区|园区)$"
)


def value_date(text: str) -> tuple[int, int, int | None] | None:
    """Read year, month and (when given) day from a date as departments write it.

    Examples
    --------
    >>> value_date("2026年10月"), value_date("2026-10-31 12:00"), value_date("20261031")
    ((2026, 10, None), (2026, 10, 31), (2026, 10, 31))
    >>> value_date("310112") is None
    True
    """
    for pattern in _DATES[:3]:
        m = pattern.fullmatch(text)
        if m is not None:
            day = m.group("d")
            return int(m.group("y")), int(m.group("m")), int(day) if day else None
    return None


def _is_date(text: str) -> bool:
    return value_date(text) is not None or _DATES[3].fullmatch(text) is not None


def _number(text: str) -> float | None:
    if _NUMBER.fullmatch(text) is None:
        return None
    return float(text)


def _between(low: float, high: float) -> Callable[[str], bool]:
    def test(text: str) -> bool:
        value = _number(text)
        # Coordinates carry decimals; a whole number in range is more likely a count.
        return value is not None and low <= value <= high and "." in text

    return test


def _hour(text: str) -> bool:
    return _INTEGER.fullmatch(text) is not None and 0 <= int(text) <= 23


def _id_number(text: str) -> bool:
    # The shape and the check digit of 18 characters; an area or birth date a later check
    # rejects is still an ID number. A 15-digit number has no check digit (grid codes are
    # 15 digits too), so it does not count.
    check = validate_id_number(text)
    return (
        check.normalized is not None
        and not check.upgraded_from_15
        and check.reason != "id_bad_checksum"
    )


SHAPES: Final[dict[str, tuple[str, Callable[[str], bool]]]] = {
    "id_number": ("ID numbers with a valid check digit", _id_number),
    "credit_code": ("valid credit codes", lambda v: validate_credit_code(v).valid),
    "phone": (
        "phone numbers",
        lambda v: validate_phone(v).valid or re.fullmatch(r"0\d{2,3}-?\d{7,8}", v) is not None,
    ),
    "date": ("dates", _is_date),
    "integer": ("whole numbers", lambda v: _INTEGER.fullmatch(v) is not None),
    "number": ("numbers", lambda v: _number(v) is not None),
    "hour": ("hours 0-23", _hour),
    "lon": ("longitudes in degrees", _between(73.0, 136.0)),
    "lat": ("latitudes in degrees", _between(3.0, 54.0)),
    "person_name": (
        "personal names",
        lambda v: _PERSON_NAME.fullmatch(v) is not None and _NOT_A_PERSON.search(v) is None,
    ),
    "address": ("addresses", lambda v: len(v) >= 4 and _ADDRESS_WORDS.search(v) is not None),
    "code": ("digit codes", lambda v: v.isascii() and v.isdigit() and len(v) >= 6),
    "division_code": (
        "division codes",
        lambda v: v.isascii() and v.isdigit() and len(v) in (2, 4, 6, 9, 12),
    ),
    "grid_code": ("grid codes", lambda v: v.isascii() and v.isdigit() and 13 <= len(v) <= 20),
    # A committee's 001 within its street, or 1 where a spreadsheet dropped the zeros.
    "code_part": (
        "last parts of division codes",
        lambda v: v.isascii() and v.isdigit() and 1 <= len(v) <= 3,
    ),
    "division_name": (
        "division names",
        lambda v: _DIVISION_SUFFIX.search(v) is not None and len(v) <= 20,
    ),
}

# Word-valued fields, read through the vocabulary the build reads them with
# (src/popbase/values/vocabulary.yaml, see :mod:`popbase.values.vocabulary`).
WORD_SHAPES: Final = {
    "sex": "sex words",
    "person_status": "person or insurance status words",
    "household_status": "人户状态 words",
    "building_use": "building use words",
}
_MEANINGFUL: Final = 5  # fewer sampled values than this tell nothing


@cache
def _vocabulary() -> Vocabulary:
    return load_vocabulary()


def _read_as_build(sample: list[str]) -> dict[str, float]:
    """Shares of values the build reads as dates, and as words of each word field.

    Dates in every form the build reads (Excel serials and Chinese numerals too, see
    :mod:`popbase.values.dates`); words known to the vocabulary, "no value" words aside.
    """
    values = pa.array(sample, pa.string())
    dates = read_dates(values).values
    shares = {"date": (len(dates) - dates.null_count) / len(sample)}
    keys = word_keys(values).to_pylist()
    vocabulary = _vocabulary()
    for word_field in WORD_SHAPES:
        meanings = vocabulary.meanings[word_field]
        known = sum(1 for k in keys if k and meanings.get(k, MISSING) != MISSING)
        shares[word_field] = known / len(sample)
    return shares


@dataclass(frozen=True)
class ValueProfile:
    """The shapes of a column's sampled values.

    Attributes
    ----------
    count
        Non-empty values sampled.
    shares
        For each shape of :data:`SHAPES`, the share of sampled values having it.
    lengths
        How many values have each length (codes of one level have one length).
    examples
        The first few distinct values, for messages.
    distinct
        Distinct values among those sampled.
    """

    count: int
    shares: dict[str, float] = field(default_factory=dict)
    lengths: Counter[int] = field(default_factory=Counter)
    examples: tuple[str, ...] = ()
    distinct: int = 0

    def share(self, shape: str) -> float:
        """The share of values of ``shape`` (0 when nothing was sampled)."""
        return self.shares.get(shape, 0.0)

    @property
    def meaningful(self) -> bool:
        """Whether enough values were sampled for their shares to mean anything."""
        return self.count >= _MEANINGFUL

    def describe(self, shape: str) -> str:
        """``"98% valid ID numbers"``: the share of a shape, for a comment."""
        what = WORD_SHAPES[shape] if shape in WORD_SHAPES else SHAPES[shape][0]
        return f"{self.share(shape):.0%} {what}"


def profile(values: Sequence[str | None], limit: int = 500) -> ValueProfile:
    """Measure the shapes of up to ``limit`` non-empty values.

    Parameters
    ----------
    values
        A column's values as text (empty and missing ones are skipped).
    limit
        How many non-empty values to look at.

    Returns
    -------
    ValueProfile
        The share of each shape, value lengths, examples.

    Examples
    --------
    >>> p = profile(["310112199001011233", "11010519491231002X", "", None, "abc"])
    >>> p.count, round(p.share("id_number"), 2)
    (3, 0.67)
    """
    sample = [v.strip() for v in values if isinstance(v, str) and v.strip()][:limit]
    return _profile(tuple(sample))


@lru_cache(maxsize=4096)
def _profile(sample: tuple[str, ...]) -> ValueProfile:
    """A column's profile, measured once: each column is mapped for every kind and role."""
    if not sample:
        return ValueProfile(0)
    shares = {
        shape: sum(1 for v in sample if test(v)) / len(sample)
        for shape, (_, test) in SHAPES.items()
    }
    shares |= _read_as_build(list(sample))
    distinct = list(dict.fromkeys(sample))
    return ValueProfile(
        len(sample),
        shares,
        Counter(len(v) for v in sample),
        tuple(distinct[:3]),
        len(distinct),
    )
