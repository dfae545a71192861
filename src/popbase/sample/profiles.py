"""How dirty a sample city's department records are: ``popbase sample --dirt PROFILE``.

Every department writes its records with its own habits (:mod:`popbase.sample.departments`
holds each source's base rates: the community ledgers mistype 1.5 % of ID numbers, the
police register 0.1 %). A profile scales those base rates by kind of dirt and adds habits
that the ``default`` city does not show, so that ``default`` keeps the figures quoted in
the README and ``heavy`` shows what a careless district delivers.

========================================  ========  =========  ==========
kind of dirt                              light     default    heavy
========================================  ========  =========  ==========
typos: names (spaces, 繁体, homophones),   × 0.4     × 1        × 3
road-name homophones, wrong sex
same-sounding character in a name         0         0          1 %
(ledger, health, civil affairs)
IDs: mistyped, missing, 15-digit legacy   × 0.4     × 1        × 3
missing phone (ledger 10 %, hotline 10 %) × 0.5     × 1        × 2.5
missing birth date (ledger, health,       0         0          2 %
civil affairs)
missing residence address (ledger,        0         0          1 %
health, civil affairs)
stale rows: the dead and the moved-away   × 0.5     × 1        × 2
still listed (ledger 30 % / 40 %, health
50 %, register 20 % of deaths unmarked)
informal address forms: no city or        × 0.5     × 1        × 2
district, 号楼/幢/栋, 12-301, no 室,
Chinese numerals, full-width, spaces
no lane word (七莘路1885号12号301室,        0         0          5 %
七莘路1885-12号301室)
unit or floor written (十二幢三单元301室,   0         0          5 %
12号二十一楼2101室)
========================================  ========  =========  ==========

A scaled rate never exceeds :data:`MAX_RATE`. Truth is unaffected: every row still names
its person and the room its address refers to; a row whose address is left empty refers
to no room.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from popbase.sample.addresses import AddressStyle

# No habit is universal: a scaled rate stays below this.
MAX_RATE = 0.9


@dataclass(frozen=True)
class DirtProfile:
    """Factors on each source's base rates, and rates of the habits ``default`` lacks.

    Attributes
    ----------
    name
        ``light``, ``default`` or ``heavy``.
    typos, ids, missing, stale, informal
        Factors on the base rates of each kind of dirt (see the module docstring).
    name_homophone
        Share of ledger, health and civil-affairs rows whose name has one character
        replaced by a same-sounding one.
    missing_birth_date, missing_address
        Share of ledger, health and civil-affairs rows without a birth date / without a
        residence address.
    no_lane_word, unit_floor
        Address habits: the lane written as a house number or with a dash; a unit
        (单元) or floor (楼) written before the room.
    """

    name: str
    typos: float = 1.0
    ids: float = 1.0
    missing: float = 1.0
    stale: float = 1.0
    informal: float = 1.0
    name_homophone: float = 0.0
    missing_birth_date: float = 0.0
    missing_address: float = 0.0
    no_lane_word: float = 0.0
    unit_floor: float = 0.0

    def typo(self, rate: float) -> float:
        """A base typo rate at this profile."""
        return _scaled(rate, self.typos)

    def id(self, rate: float) -> float:
        """A base rate of mistyped, missing or legacy IDs at this profile."""
        return _scaled(rate, self.ids)

    def miss(self, rate: float) -> float:
        """A base rate of a missing field at this profile."""
        return _scaled(rate, self.missing)

    def kept(self, rate: float) -> float:
        """A base share of departed persons still listed, at this profile."""
        return _scaled(rate, self.stale)

    def style(self, base: AddressStyle) -> AddressStyle:
        """A source's address habits at this profile.

        Examples
        --------
        >>> heavy = PROFILES["heavy"].style(AddressStyle(no_city=0.3, homophone=0.01))
        >>> round(heavy.no_city, 2), round(heavy.homophone, 2), heavy.no_lane_word
        (0.6, 0.03, 0.05)
        """
        scaled = {
            f.name: _scaled(getattr(base, f.name), self.informal)
            for f in dataclasses.fields(AddressStyle)
        }
        scaled["homophone"] = _scaled(base.homophone, self.typos)
        scaled["no_lane_word"] = max(base.no_lane_word, self.no_lane_word)
        scaled["unit_floor"] = max(base.unit_floor, self.unit_floor)
        return AddressStyle(**scaled)


def _scaled(rate: float, factor: float) -> float:
    return min(rate * factor, max(rate, MAX_RATE))


PROFILES: dict[str, DirtProfile] = {
    "light": DirtProfile("light", typos=0.4, ids=0.4, missing=0.5, stale=0.5, informal=0.5),
    "default": DirtProfile("default"),
    "heavy": DirtProfile(
        "heavy",
        typos=3.0,
        ids=3.0,
        missing=2.5,
        stale=2.0,
        informal=2.0,
        name_homophone=0.01,
        missing_birth_date=0.02,
        missing_address=0.01,
        no_lane_word=0.05,
        unit_floor=0.05,
    ),
}
DEFAULT = PROFILES["default"]


def dirt_profile(name: str) -> DirtProfile:
    """The profile called ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not a profile, naming the ones there are.

    Examples
    --------
    >>> dirt_profile("heavy").ids
    3.0
    >>> dirt_profile("extreme")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: dirt profile was 'extreme', expected one of light, default, heavy. Fix: ...
    """
    if name not in PROFILES:
        raise ValueError(
            f"dirt profile was {name!r}, expected one of {', '.join(PROFILES)}. "
            "Fix: pass --dirt light, --dirt default or --dirt heavy."
        )
    return PROFILES[name]
