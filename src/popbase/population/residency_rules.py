"""The rules that decide where a person lives, whether they are here, and for how long.

Every person's residency is decided by exactly one *placement rule* (where they live, or
why they are not counted here) and, when they live here with their hukou in another
street or elsewhere, one *months rule* (常住 or 流动). The residency stage records both
per person (``residency.residency_rule`` and ``residency.months_rule``), so that
``popbase eval`` can report how many persons each rule decided and how often it was right.
A rule that is right in one city may be wrong in another; the per-rule report shows which.

The order of :data:`PLACEMENT_RULES` is the order in which the stage applies them: a
person decided by an earlier rule is not looked at by a later one.

Strong and weak evidence
------------------------
A residence listing (a ledger row, a health or civil-affairs record with a 现住址 linked to
a room) says where a person lives. A located presence row (an operator's night-time
residence) says where a phone sleeps. A register household (户号) whose other members are
listed in the hukou room says the family lives there. These are *strong*. A social-security
row without coordinates says only that the person is insured with an employer in the city:
they work here, which says nothing about where they sleep (many insured employees commute
from other districts, or live away from their hukou). Alone it is *weak*, and the person's
status is ``unknown`` (待核实, to be verified) rather than a guess.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResidencyRule:
    """One rule: its name, its Chinese label, the status it gives, and why it holds.

    ``status`` is the residency status the rule gives, or ``"by months"`` for a placement
    rule whose status then depends on the streets and the months of residence.
    """

    name: str
    label: str
    status: str
    reason: str


BY_MONTHS = "by months"

PLACEMENT_RULES: tuple[ResidencyRule, ...] = (
    ResidencyRule(
        "deceased",
        "已死亡",
        "none",
        "A death record (a funeral, a register's 死亡 status) ends residence and registration.",
    ),
    ResidencyRule(
        "observed_away",
        "夜间常驻地在外",
        "absent_registered or none",
        "Located presence rows place the person only far outside the area: a listing says "
        "where someone lived when it was made, the night-time observation where they sleep "
        "now (a ledger row kept after a move). The listing is dropped.",
    ),
    ResidencyRule(
        "listed",
        "居住登记",
        BY_MONTHS,
        "A residence source lists the person at a room of the basemap (the most trusted, "
        "then most recent listing): a department's statement of where the person lives.",
    ),
    ResidencyRule(
        "located_at_hukou",
        "夜间常驻于户籍街道",
        BY_MONTHS,
        "Registered here, no listing, but a located presence row places the person in the "
        "hukou's street: they sleep where they are registered, so they live at the hukou room.",
    ),
    ResidencyRule(
        "household_at_hukou",
        "同户成员居于户籍房屋",
        BY_MONTHS,
        "Registered here, no listing, an active presence row shows the person in the city, "
        "and another member of the register household (户号) is listed in the hukou room: "
        "a family living in its registered home, of which this member is one.",
    ),
    ResidencyRule(
        "child_with_household",
        "随户儿童",
        BY_MONTHS,
        "A child under twelve (no phone or insurance of its own, so no presence row) "
        "registered here, unlisted and not said to be away, lives at the hukou room when "
        "another member of its register household lives there.",
    ),
    ResidencyRule(
        "stays_in_unit",
        "有人无房",
        BY_MONTHS,
        "No room is known, but a located presence row places the person in a grid here: "
        "counted in that grid and committee, without a room, to be visited.",
    ),
    ResidencyRule(
        "not_here",
        "非本地人员",
        "none",
        "Neither lives nor is registered here (an employee living in another district, a "
        "caller passing through).",
    ),
    ResidencyRule(
        "said_away",
        "记录称外出",
        "absent_registered",
        "Registered here, no listing, and a record states the person lives elsewhere "
        "(人不在户在, 外出).",
    ),
    ResidencyRule(
        "presence_unlocated",
        "仅有无坐标在岗记录",
        "unknown",
        "Registered here, no listing and no located row, only an active presence row "
        "without coordinates (social-security contributions): the person works in the city, "
        "which says nothing about where they sleep. 待核实, counted apart.",
    ),
    ResidencyRule(
        "no_residence_here",
        "无居住证据",
        "absent_registered",
        "Registered here, but no source lists, observes or places the person here: the "
        "register holds them, the area does not (人户分离, 外出).",
    ),
)

MONTHS_RULES: tuple[ResidencyRule, ...] = (
    ResidencyRule(
        "months_given",
        "居住时长",
        "present_resident or present_floating",
        "The most trusted, most recent record that gives months of residence "
        "(居住时长, an operator's 本地驻留月数).",
    ),
    ResidencyRule(
        "months_since",
        "居住起始日期",
        "present_resident or present_floating",
        "The most trusted, most recent record that gives the date residence began, counted "
        "to the project's as-of date.",
    ),
    ResidencyRule(
        "months_from_dated_record",
        "本址最早登记日期",
        "present_resident",
        "No record states the months, but a dated record of any source (a family-doctor "
        "signing, a civil-affairs case) already gave the room the person lives in: they have "
        "lived there at least since then. Decides 常住 when that is six months or more; a "
        "shorter span proves nothing about before, and the next rule decides.",
    ),
    ResidencyRule(
        "stated",
        "人户状态登记",
        "present_resident or present_floating",
        "No months anywhere, but a record states 人在户不在（流动） or （常住）.",
    ),
    ResidencyRule(
        "months_unknown",
        "居住时长不明",
        "present_resident",
        "Nothing says how long the person has lived here: counted 常住 (a listed resident "
        "is most often settled) and flagged, so that the count of such persons is known "
        "and they can be asked.",
    ),
)

RULE_NAMES = tuple(r.name for r in PLACEMENT_RULES)
MONTHS_RULE_NAMES = tuple(r.name for r in MONTHS_RULES)


def rule_labels() -> dict[str, str]:
    """Every rule's Chinese label by name, placement rules then months rules.

    >>> rule_labels()["presence_unlocated"]
    '仅有无坐标在岗记录'
    """
    return {r.name: r.label for r in (*PLACEMENT_RULES, *MONTHS_RULES)}
