"""Events and tags read from a person source's own columns, guessed from the rules' words.

A health or civil-affairs file often has no event-type column (业务类型): one row per
person, a column per programme — 慢病类型 holding 高血压、糖尿病, 孕产妇 holding 是/否 —
or it is a list of one programme (低保对象名册.xlsx). popbase reads such files through a
source's ``events:``, ``tags:`` and ``event_type:`` (:class:`popbase.config.EventColumn`),
and the words that matter are the shipped portrait rules' (``portraits/tags.yaml``): their
event types (慢病管理, 孕产妇建册, 最低生活保障 …), the words their ``detail_contains``
looks for (高血压, 糖尿病) and their labels (孕产妇, 残疾人, 低保, 党员, 退役军人, 志愿者).

Guessed, for a person source with no event-type column, each marked for the user to
check with the evidence:

- **a column of the rules' words** (:func:`value_columns`): most of its cells (split as
  the build splits them, on 、,，;；/ and spaces) are such words, or words for none (无,
  否): ``events: [{column, event_type, values}]``. A ``detail_contains`` word gives its
  rule's event, the word being the event's detail (高血压 → 慢病管理 with 高血压); an event
  type gives itself; a label, or a value holding one (低保对象, 持证残疾人), gives its rule's
  first event type. Values no rule knows are listed in the comment, not guessed;
- **a yes/no flag named after a rule** (:func:`flag_columns`): the header holds a rule's
  label or event type (孕产妇, 是否残疾人, 家庭医生签约) and its cells are yes/no words or
  dates: ``events: [{column, event_type}]``, or, for a rule that needs a detail (高血压 is
  慢病管理 whose detail says 高血压), ``tags: [{column, tag}]``;
- **a file of one programme** (:func:`named_event_type`): where no column gives events, a
  file, sheet or title naming a rule's event type or label gives ``event_type:``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Final

import pyarrow as pa

from popbase.guess.vocabulary import header_key
from popbase.portraits.column_events import NONE_WORDS, YES_WORDS, split_cell
from popbase.portraits.rules import TagRule, load_rules
from popbase.values.dates import read_dates

__all__ = [
    "ColumnGuess",
    "RuleWords",
    "flag_columns",
    "named_event_type",
    "rule_words",
    "value_columns",
]

# Most of a column's cells are the rules' words (or none): dirty data keeps the rest.
MIN_WORD_SHARE: Final = 0.6
# A flag column's cells are yes/no words or dates, nearly all.
MIN_FLAG_SHARE: Final = 0.9
# The fewest characters of a header that may stand for a rule's longer label.
_SHORTENED = 3
# A value that holds a label but negates it is not it (非低保, 不是党员).
_NEGATED: Final = re.compile(r"^(非|不是|不|无|未|否)")
# A label names one programme when its rule has at most this many event types; the
# hotline caller's eight topics (停车管理, 环境卫生 …) are no one event.
_ONE_PROGRAMME: Final = 2


@dataclass(frozen=True)
class ColumnGuess:
    """One ``events:`` or ``tags:`` entry guessed for a column, with the evidence.

    Attributes
    ----------
    column
        The column as the file names it.
    target
        ``events`` or ``tags``.
    event_type, tag
        What a flag, or every listed value, gives.
    values
        For a column read by its values: the values listed (all giving ``event_type``),
        or each value's event type.
    evidence
        Why, in words.
    unknown
        Values seen that no rule's word is, for the user to add.
    """

    column: str
    target: str
    evidence: str
    event_type: str | None = None
    tag: str | None = None
    values: list[str] | dict[str, str] | None = None
    unknown: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RuleWords:
    """The shipped rules' words, each with the event it gives and the rule it comes from.

    Attributes
    ----------
    events
        Word key → (event type, the word as the rules write it, the rule).
    labels
        Event rules by the key of their labels, the longest first.
    """

    events: Mapping[str, tuple[str, str, TagRule]]
    labels: tuple[tuple[str, TagRule], ...]


def _key(text: str) -> str:
    return header_key(text).upper()


@cache
def rule_words() -> RuleWords:
    """The words of the shipped portrait rules' event tags (see the module's description)."""
    words: dict[str, tuple[str, str, TagRule]] = {}
    labels: list[tuple[str, TagRule]] = []
    for rule in load_rules().tags:
        if not rule.event:
            continue
        first = rule.event[0]
        if rule.detail_contains:
            words.setdefault(_key(rule.detail_contains), (first, rule.detail_contains, rule))
        if len(rule.event) <= _ONE_PROGRAMME:
            labels.append((_key(rule.label), rule))
        for event in rule.event:
            words.setdefault(_key(event), (event, event, rule))
        words.setdefault(_key(rule.label), (first, rule.label, rule))
    labels.sort(key=lambda kv: len(kv[0]), reverse=True)
    return RuleWords(words, tuple(labels))


_NONE: Final = frozenset(_key(w) for w in NONE_WORDS)
_YES: Final = frozenset(_key(w) for w in YES_WORDS)


def _event_of(part: str, words: RuleWords) -> tuple[str, str] | None:
    """The event a value gives and the rule's word it holds, or None.

    >>> _event_of("高血压", rule_words()), _event_of("低保对象", rule_words())
    (('慢病管理', '高血压'), ('最低生活保障', '低保'))
    >>> _event_of("非低保", rule_words()) is None
    True
    """
    key = _key(part)
    if key in words.events:
        event, word, _ = words.events[key]
        return event, word
    if _NEGATED.match(part):
        return None
    for label, rule in words.labels:
        if label in key:
            assert rule.event is not None
            return rule.event[0], rule.label
    return None


def _cells(values: Sequence[str]) -> list[str]:
    return [v.strip() for v in values if v and v.strip()]


def _value_column(column: str, values: Sequence[str], words: RuleWords) -> ColumnGuess | None:
    cells = _cells(values)
    if not cells:
        return None
    given: dict[str, str] = {}  # value as written → event type
    held: dict[str, str] = {}  # value → the rule's word it is or holds
    unknown: dict[str, None] = {}
    readable = 0
    for cell in cells:
        parts = split_cell(cell)
        ok = True
        for part in parts:
            found = _event_of(part, words)
            if found is not None:
                given[part], held[part] = found
            elif _key(part) not in _NONE:
                unknown[part] = None
                ok = False
        readable += ok
    share = readable / len(cells)
    if not given or share < MIN_WORD_SHARE:
        return None
    events = set(given.values())
    listed: list[str] | dict[str, str]
    if len(events) == 1:
        (event_type,) = events
        listed = list(given)
    else:
        event_type, listed = None, given
    shown = ", ".join(
        f"{v} → {e}" + (f" ({held[v]})" if held[v] not in (v, e) else "")
        for v, e in list(given.items())[:6]
    )
    evidence = f"{share:.0%} of its cells are words of the portrait rules: {shown}"
    return ColumnGuess(
        column, "events", evidence, event_type, values=listed, unknown=list(unknown)[:8]
    )


def value_columns(
    samples: Mapping[str, Sequence[str]], columns: Sequence[str]
) -> list[ColumnGuess]:
    """``events:`` entries for columns whose cells are mostly the rules' words.

    Parameters
    ----------
    samples
        Each column's sampled values.
    columns
        The columns no canonical field took.

    Returns
    -------
    list of ColumnGuess
        One per such column, in the file's order.
    """
    words = rule_words()
    found = [_value_column(c, samples[c], words) for c in columns]
    return [g for g in found if g is not None]


def _flag_share(cells: list[str]) -> tuple[float, bool]:
    """The share of cells a flag reads (yes/no words, dates), and whether any says yes."""
    keys = [_key(c) for c in cells]
    dated = read_dates(pa.array(cells, pa.string())).values.to_pylist()
    yes = [k in _YES or d is not None for k, d in zip(keys, dated, strict=True)]
    read = sum(1 for k, y in zip(keys, yes, strict=True) if y or k in _NONE)
    return read / len(cells), any(yes)


def _named_rule(text: str, words: RuleWords) -> tuple[TagRule, str, str] | None:
    """The event rule a header or name names by its label or one of its event types.

    Returns the rule, the word found and the event type it gives.
    """
    key = _key(text)
    if _NEGATED.match(key.removeprefix("是否")):
        return None
    for label, rule in words.labels:
        if label in key:
            assert rule.event is not None
            return rule, rule.label, rule.event[0]
    # A header shortens a programme's name to its head: 家庭医生 for 家庭医生签约 (under
    # a group label, the header's own part: 服务信息/家庭医生).
    head = _key(text.rsplit("/", 1)[-1])
    for label, rule in words.labels:
        if len(head) >= _SHORTENED and label.startswith(head):
            assert rule.event is not None
            return rule, rule.label, rule.event[0]
    for word, (event, written, rule) in sorted(
        words.events.items(), key=lambda kv: len(kv[0]), reverse=True
    ):
        if word in key and written == event and len(rule.event or ()) <= _ONE_PROGRAMME:
            return rule, written, event
    return None


def flag_columns(samples: Mapping[str, Sequence[str]], columns: Sequence[str]) -> list[ColumnGuess]:
    """Entries for yes/no (or date) columns named after an event rule.

    Parameters
    ----------
    samples
        Each column's sampled values.
    columns
        The columns no canonical field took.

    Returns
    -------
    list of ColumnGuess
        ``events:`` entries giving the rule's first event type, or ``tags:`` entries
        where the rule needs a detail no flag carries (高血压).
    """
    words = rule_words()
    guesses = []
    for column in columns:
        named = _named_rule(column, words)
        cells = _cells(samples[column])
        if named is None or not cells:
            continue
        share, any_yes = _flag_share(cells)
        if share < MIN_FLAG_SHARE or not any_yes:
            continue
        rule, word, event = named
        examples = "、".join(list(dict.fromkeys(cells))[:4])
        evidence = f"a yes/no flag ({examples}) named after the rule {rule.id} ({word})"
        if rule.detail_contains:
            guesses.append(ColumnGuess(column, "tags", evidence, tag=rule.id))
        else:
            guesses.append(ColumnGuess(column, "events", evidence, event))
    return guesses


def named_event_type(names: Sequence[str]) -> tuple[str, str] | None:
    """``event_type:`` for a file of one programme (低保对象名册.xlsx), and why.

    Only a rule that needs no detail counts: 慢病管理 alone says nothing of 高血压.

    >>> named_event_type(["低保对象名册", ""])
    ('最低生活保障', 'the name 低保对象名册 says 低保 (rule low_income)')
    """
    words = rule_words()
    for name in names:
        named = _named_rule(name, words) if name else None
        if named is not None and not named[0].detail_contains:
            rule, word, event = named
            if len(rule.event or ()) <= _ONE_PROGRAMME:
                return event, f"the name {name} says {word} (rule {rule.id})"
    return None
