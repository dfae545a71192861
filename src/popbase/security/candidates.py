"""How many values a mask leaves possible, given all else a role sees, and each role's masks.

A mask alone says little; with the other fields of the same record it can say nearly
all. An ID number (GB 11643) is an area code (6 digits), the birth date (8), a sequence
number (3, odd for men, even for women) and a check digit (ISO 7064 MOD 11-2). A role
that sees the birth date and the sex, shown ``3101**********8157``, has two hidden
digits left, and the check digit cuts them to one to three candidates: one lookup each
confirms the number. So each role's mask is chosen with what else it sees:

- what the role knows of the birth date: whole; its year (and, with the age, the
  worst case: a person born on the reference day's side of the year is pinned to
  one day, so a year with an age counts as the whole date); a one-year window
  (the age alone); or nothing;
- the sex (``basic``), which fixes the parity of the sequence number;
- the area code, always taken as known: a city's base holds a few area codes, and a
  role that sees where a person lives or is registered guesses the right one.

:func:`id_candidates` counts exactly the numbers that match a mask and that knowledge,
grouping the dates and sequence numbers by their part of the check sum (so a whole
century of dates costs a few milliseconds). :func:`plan_masks` gives each role the most
telling mask that still leaves ``access.mask_candidates`` candidates (1,000 by default)
for every person: for an ID number ``3101**********8157``, else ``3101*************7``,
else ``3101**************``. Where the role's other fields alone leave fewer — a role
that sees the birth date and the sex leaves 500 sequence numbers whatever the mask —
the mask shows no digit beyond the city, :attr:`MaskPlan.id_floor` says so, and the
limit on lookups that miss (:mod:`popbase.security.throttle`) is what stands between
the role and the number. Mobile numbers and names take the same care: a phone keeps
its first three digits and as many of its last four as the minimum allows; a name
keeps its surname and, from three characters, its last character, unless the
minimum needs that hidden too (a hidden character counts as one of the 3,755 common
characters of GB 2312's first level).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from popbase.security.access import PERSON_ACTIONS, Role, decide

# ISO 7064 MOD 11-2 weights of the first 17 characters, and the check character per sum.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
# Characters a hidden character of a name may be: GB 2312's first level, the common ones.
NAME_CHARACTERS = 3755
# Masks of an ID number, most telling first: (first characters shown, last shown).
ID_MASKS: tuple[tuple[int, int], ...] = ((4, 4), (4, 1), (4, 0))
# Masks of a mobile number, most telling first.
PHONE_MASKS: tuple[tuple[int, int], ...] = ((3, 4), (3, 2), (3, 0))
# Earliest birth year counted when a role knows nothing of the birth date.
EARLIEST_YEAR = 1900

BirthKnown = Literal["date", "year", "window", "none"]


@dataclass(frozen=True)
class Knowledge:
    """What a role sees of a person that bears on a masked ID number."""

    birth: BirthKnown
    sex: bool


@dataclass(frozen=True)
class MaskPlan:
    """The masks of one role, and the fewest candidates each leaves."""

    id_shown: tuple[int, int]
    id_candidates: int  # 0 when the role sees no masked ID number
    id_floor: bool  # the role's other fields alone leave fewer than the minimum
    phone_shown: tuple[int, int]
    phone_candidates: int
    name_keeps_last: bool
    name_candidates: int


def _sees(role: Role, field_class: str) -> str:
    """The most a role sees of a field class in any person-level action."""
    seen = {decide(role, field_class, a) for a in PERSON_ACTIONS}
    return "allow" if "allow" in seen else "mask" if "mask" in seen else "deny"


def knowledge_of(role: Role) -> Knowledge:
    """What ``role`` knows of a person's birth date and sex besides the ID number.

    >>> r = Role(id="h", label="h", level="city", actions=("read",),
    ...          fields={"id_number": "mask", "birth_date": "mask", "basic": "allow"})
    >>> knowledge_of(r)
    Knowledge(birth='date', sex=True)
    """
    birth, basic = _sees(role, "birth_date"), _sees(role, "basic") == "allow"
    known: BirthKnown
    if birth == "allow" or (birth == "mask" and basic):
        known = "date"  # the year with the age pins the worst-placed persons to one day
    elif birth == "mask":
        known = "year"
    else:
        known = "window" if basic else "none"
    return Knowledge(known, basic)


def mask_shape(value: str, shown: tuple[int, int]) -> str:
    """``value`` with all but its first and last ``shown`` characters as ``*``.

    >>> mask_shape("340103199110155286", (4, 1)), mask_shape("13812345678", (3, 2))
    ('3401*************6', '138******78')
    """
    head, tail = shown
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def _dates(birth: dt.date, known: BirthKnown, as_of: dt.date) -> np.ndarray:
    """The digits (YYYYMMDD, one row each) of the birth dates the role cannot tell apart."""
    if known == "date":
        first = last = birth
    elif known == "year":
        first, last = dt.date(birth.year, 1, 1), dt.date(birth.year, 12, 31)
    elif known == "window":  # the same age on the reference day: a year of birth dates
        first, last = _same_age(birth, as_of)
    else:
        first, last = dt.date(EARLIEST_YEAR, 1, 1), as_of
    return _date_digits(first, last)


@lru_cache(maxsize=256)
def _date_digits(first: dt.date, last: dt.date) -> np.ndarray:
    days = (last - first).days + 1
    texts = [(first + dt.timedelta(days=d)).strftime("%Y%m%d") for d in range(days)]
    return _digits(texts)


def _digits(texts: list[str]) -> np.ndarray:
    return np.frombuffer("".join(texts).encode("ascii"), dtype=np.uint8).reshape(
        len(texts), -1
    ).astype(np.int64) - ord("0")


# Every sequence number, as digits.
SEQUENCES = _digits([f"{n:03d}" for n in range(1000)])


def _same_age(birth: dt.date, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last birth dates of the persons as old as ``birth`` on ``as_of``."""

    def years_back(day: dt.date, years: int) -> dt.date:
        try:
            return day.replace(year=day.year - years)
        except ValueError:  # 29 February in a common year
            return day.replace(year=day.year - years, day=28)

    age = as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
    return years_back(as_of, age + 1) + dt.timedelta(days=1), years_back(as_of, age)


def _residues(digits: np.ndarray, offset: int, value: str, shown: set[int]) -> np.ndarray:
    """Per residue mod 11: how many rows of ``digits`` (at ``offset``) agree with the shown."""
    keep = np.ones(len(digits), dtype=bool)
    for i in range(digits.shape[1]):
        if offset + i in shown:
            keep &= digits[:, i] == int(value[offset + i])
    weights = np.array(WEIGHTS[offset : offset + digits.shape[1]], dtype=np.int64)
    counts: np.ndarray = np.bincount((digits[keep] @ weights) % 11, minlength=11)
    return counts


def id_candidates(
    id_number: str, shown: tuple[int, int], knowledge: Knowledge, as_of: dt.date
) -> int:
    """How many 18-character ID numbers fit the mask and what the role knows.

    The area code is taken as known; the birth date is whatever ``knowledge`` leaves;
    the sequence number has the parity of the sex if known; the check digit must be
    right, and match if shown.

    Examples
    --------
    >>> both = Knowledge("date", True)
    >>> id_candidates("340103199110155286", (4, 4), both, dt.date(2026, 1, 1))
    1
    >>> id_candidates("340103199110155286", (4, 0), both, dt.date(2026, 1, 1))
    500
    """
    head, tail = shown
    shown_at = set(range(head)) | set(range(len(id_number) - tail, len(id_number)))
    birth = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    dates = _residues(_dates(birth, knowledge.birth, as_of), 6, id_number, shown_at)
    sequences = SEQUENCES
    if knowledge.sex:  # the sex is the parity of the sequence number's last digit
        sequences = sequences[sequences[:, 2] % 2 == int(id_number[16]) % 2]
    seqs = _residues(sequences, 14, id_number, shown_at)
    area = sum(int(c) * w for c, w in zip(id_number[:6], WEIGHTS[:6], strict=True)) % 11
    total = np.zeros(11, dtype=np.int64)
    for a in range(11):
        total += dates[a] * np.roll(seqs, area + a)  # residue b lands on (area + a + b)
    if 17 in shown_at:
        return int(sum(total[r] for r in range(11) if CHECK[r] == id_number[17]))
    return int(total.sum())


def phone_candidates(shown: tuple[int, int], length: int = 11) -> int:
    """Mobile numbers a mask leaves: no other field of a person bears on them.

    >>> phone_candidates((3, 4)), phone_candidates((3, 2))
    (10000, 1000000)
    """
    return int(10 ** (length - shown[0] - shown[1]))


def name_candidates(length: int, keeps_last: bool) -> int:
    """Names of ``length`` characters a mask leaves (its surname always shown).

    >>> name_candidates(3, True), name_candidates(2, True), name_candidates(3, False)
    (3755, 3755, 14100025)
    """
    hidden = length - 1 - (1 if keeps_last and length >= 3 else 0)
    return int(NAME_CHARACTERS ** max(hidden, 0))


# People the masks are designed against: the earliest and latest days of a year, a
# leap day, and the days around the reference day, of both sexes, in three areas.
def probe_ids(as_of: dt.date) -> list[str]:
    """Valid ID numbers of persons placed where masks leave the fewest candidates."""
    days = [dt.date(1990, 1, 1), dt.date(1990, 12, 31), dt.date(1992, 2, 29)]
    days += [as_of.replace(year=1985) + dt.timedelta(days=d) for d in (-1, 0, 1)]
    out = []
    for area in ("310101", "340103", "110105"):
        for day in days:
            for seq in ("123", "124", "000", "999"):
                body = area + day.strftime("%Y%m%d") + seq
                total = sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True))
                out.append(body + CHECK[total % 11])
    return out


def plan_masks(role: Role, minimum: int, as_of: dt.date | None = None) -> MaskPlan:
    """The most telling masks of ``role`` that leave at least ``minimum`` candidates.

    Examples
    --------
    >>> from popbase.security.access import load_roles
    >>> roles = load_roles()
    >>> plan = plan_masks(roles.get("human_resources"), 1000)
    >>> plan.id_shown, plan.id_floor, plan.phone_shown, plan.name_keeps_last
    ((4, 1), False, (3, 4), True)
    >>> plan = plan_masks(roles.get("education"), 1000)
    >>> plan.id_shown, plan.id_candidates, plan.id_floor
    ((4, 0), 500, True)
    """
    as_of = as_of or dt.date.today()
    knowledge = knowledge_of(role)
    probes = probe_ids(as_of)

    def fewest(shown: tuple[int, int]) -> int:
        return min(id_candidates(p, shown, knowledge, as_of) for p in probes)

    id_shown, id_count = ID_MASKS[-1], 0
    if _sees(role, "id_number") == "mask":  # else no mask of it is ever shown
        for shown in ID_MASKS:  # most telling first: stop at the first that holds
            id_shown, id_count = shown, fewest(shown)
            if id_count >= minimum:
                break
    phone_shown = next((s for s in PHONE_MASKS if phone_candidates(s) >= minimum), PHONE_MASKS[-1])
    # The shortest names leave the fewest: two characters, or three keeping the last.
    keeps_last = min(name_candidates(2, True), name_candidates(3, True)) >= minimum
    return MaskPlan(
        id_shown=id_shown,
        id_candidates=id_count,
        id_floor=0 < id_count < minimum,
        phone_shown=phone_shown,
        phone_candidates=phone_candidates(phone_shown),
        name_keeps_last=keeps_last,
        name_candidates=min(name_candidates(2, keeps_last), name_candidates(3, keeps_last)),
    )
