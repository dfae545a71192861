"""The vocabulary: what departments write in word-valued fields, and what it means.

One dictionary, shipped as ``vocabulary.yaml`` beside this module (read it for the words
and the canonical values of each field), maps department words to popbase's canonical
values: sex (男/女/1/2/M/F → ``M``/``F``), person and insurance status, household status
(人户状态), building use, the household head (户主) and events only the dead are the
subject of. A project extends it with a file of the same shape named in ``popbase.yaml``
(``vocabulary: my_words.yaml``), merged over the shipped one; every stage reads words
through the merged vocabulary, so a project's words reach all of them.

Words are compared by their *key*: NFKC (full-width to half-width), lower case, without
spaces and punctuation — 注销（死亡） and 注销(死亡) are one word. A value whose key is
empty (``-``, ``/``, ``—``) means no value.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from popbase.errors import ConfigError
from popbase.values.reading import Reading, plain_text

__all__ = [
    "CLOSED_FIELDS",
    "FIELDS",
    "MISSING",
    "SHIPPED",
    "Vocabulary",
    "load_vocabulary",
    "word_key_sql",
    "word_key_texts",
    "word_keys",
]

SHIPPED: Final = Path(__file__).with_name("vocabulary.yaml")
MISSING: Final = "missing"
# Canonical values per field: what the stages test, in the order documented.
FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "sex": ("M", "F"),
    "person_status": ("active", "suspended", "ended", "deceased", "moved_out"),
    "household_status": (
        "present_registered",
        "present_resident",
        "present_floating",
        "present_unregistered",
        "absent_registered",
        "separated",
    ),
    "building_use": (
        "residential",
        "mixed",
        "office",
        "commercial",
        "industrial",
        "warehouse",
        "public",
        "school",
        "kindergarten",
        "health",
        "elderly_care",
        "other",
    ),
    "relation": ("head",),
    "event_type": ("death",),
}
# Fields whose every word must be known: another word cannot be read. In the others only
# the listed words carry a meaning; the rest are kept as written.
CLOSED_FIELDS: Final = frozenset({"sex", "person_status", "household_status", "building_use"})
_FIX = "Fix: correct it in {file}"


def word_keys(values: pa.Array) -> pa.Array:
    """The key each word is compared by: NFKC, lower case, no spaces or punctuation.

    >>> word_keys(pa.array(["注销（死亡）", " Mixed use ", "elderly_care", "--", None])).to_pylist()
    ['注销死亡', 'mixeduse', 'elderlycare', '', None]
    """
    text = pc.utf8_lower(plain_text(values))
    return pc.replace_substring_regex(text, r"[\s\p{P}]+", "")


def word_key_texts(words: Sequence[str]) -> list[str]:
    """The keys of ``words`` (see :func:`word_keys`), for SQL; quotes cannot occur in them.

    >>> word_key_texts(["户主", "本人（户主）", "O'Brien"])
    ['户主', '本人户主', 'obrien']
    """
    keys = word_keys(pa.array(list(words), pa.string())).to_pylist()
    return [str(k) for k in keys if k]


def word_key_sql(column: str) -> str:
    """SQL computing the key of a text column as :func:`word_keys` does (NFC, not NFKC).

    Compare it with :func:`word_key_texts`; full-width letters and digits, which only
    NFKC folds, do not occur in the relation words this reads.
    """
    return f"regexp_replace(lower(nfc_normalize({column})), '[\\s\\p{{P}}]+', '', 'g')"


@dataclass(frozen=True)
class _Entry:
    """One word of a vocabulary file under a field and a canonical value."""

    field: str | None  # None: the shared `missing` list
    canonical: str
    word: str
    line: int


@dataclass(frozen=True)
class Vocabulary:
    """The merged vocabulary of a project.

    Attributes
    ----------
    meanings
        Per field, each word key's canonical value (``missing`` for words meaning none).
    spellings
        Per field and canonical value, the words as the files write them.
    missing
        Keys of the words that mean "no value" in any field.
    files
        The files merged, shipped one first.
    """

    meanings: Mapping[str, Mapping[str, str]]
    spellings: Mapping[str, Mapping[str, tuple[str, ...]]]
    missing: frozenset[str]
    files: tuple[Path, ...]

    def words(self, field: str, canonical: str) -> tuple[str, ...]:
        """The words as written that mean ``canonical`` in ``field``, canonical value first.

        >>> load_vocabulary().words("relation", "head")[:3]
        ('head', '户主', '本人')
        """
        return self.spellings[field].get(canonical, ())

    def says_missing(self, values: pa.Array) -> pa.Array:
        """True where a value is a word meaning "no value" (不详, NULL, ``-`` …); never null.

        >>> load_vocabulary().says_missing(pa.array(["不详", "-", "男", None])).to_pylist()
        [True, True, False, False]
        """
        keys = word_keys(values)
        listed = pc.is_in(keys, value_set=pa.array(sorted(self.missing), pa.string()))
        return pc.fill_null(pc.or_(listed, pc.equal(keys, "")), False)

    def read(self, field: str, values: pa.Array) -> Reading:
        """Read the words of ``field`` as canonical values.

        A word meaning "no value" reads as null. In a closed field (:data:`CLOSED_FIELDS`)
        any other unknown word is unreadable; in an open one it is kept as written.

        Examples
        --------
        >>> words = load_vocabulary()
        >>> read = words.read("sex", pa.array(["男", "女性", "2", "M", "9", "不详", "男女", None]))
        >>> read.values.to_pylist()
        ['M', 'F', 'F', 'M', None, None, None, None]
        >>> read.unreadable.to_pylist()
        [False, False, False, False, False, False, True, False]
        >>> words.read("building_use", pa.array(["商住两用", "Office", "厂房"])).values.to_pylist()
        ['mixed', 'office', 'industrial']
        """
        text = plain_text(values)
        meanings = self.meanings[field]
        keys = pa.array(list(meanings), pa.string())
        canonical = pa.array(list(meanings.values()), pa.string())
        found = pc.index_in(word_keys(text), value_set=keys)
        meaning = pc.take(canonical, found)
        known = pc.is_valid(found)
        none = pc.or_(pc.fill_null(pc.equal(meaning, MISSING), False), self.says_missing(text))
        read = pc.if_else(none, pa.scalar(None, pa.string()), meaning)
        present = pc.fill_null(pc.not_equal(text, ""), False)
        unknown = pc.and_(present, pc.invert(pc.or_(known, none)))
        if field in CLOSED_FIELDS:
            return Reading(read, unknown)
        kept = pc.if_else(unknown, text, read)
        return Reading(kept, pa.array([False] * len(text), pa.bool_()))


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _words(node: yaml.Node, where: str, file: Path, problems: list[str]) -> list[yaml.ScalarNode]:
    """The word scalars of a list (or of a single word)."""
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    out = []
    for item in items:
        if not isinstance(item, yaml.ScalarNode) or not str(item.value).strip():
            problems.append(
                f"line {_line(item)}: {where}: expected words such as [男, 男性], "
                f"each a plain word. {_FIX.format(file=file.name)}"
            )
            continue
        out.append(item)
    return out


def _entries(file: Path, root: yaml.Node | None, problems: list[str]) -> list[_Entry]:
    """Every word of a vocabulary file with its field, canonical value and line."""
    if root is None:
        return []
    fields = ", ".join(FIELDS)
    if not isinstance(root, yaml.MappingNode):
        problems.append(
            f"line {_line(root)}: the file must map fields ({fields}, or `missing`) to "
            f"their words. {_FIX.format(file=file.name)}, as in the shipped {SHIPPED.name}"
        )
        return []
    entries: list[_Entry] = []
    for key, value in root.value:
        name = str(key.value)
        if name == MISSING:
            for word in _words(value, MISSING, file, problems):
                entries.append(_Entry(None, MISSING, str(word.value), _line(word)))
            continue
        if name not in FIELDS:
            close = difflib.get_close_matches(name, FIELDS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                f"line {_line(key)}: {name!r} is not a field of the vocabulary; {hint}"
                f"the fields are {fields} and `missing`. {_FIX.format(file=file.name)}"
            )
            continue
        if not isinstance(value, yaml.MappingNode):
            problems.append(
                f"line {_line(value)}: {name}: expected its canonical values, each with its "
                f"words (e.g. `{FIELDS[name][0]}: [...]`). {_FIX.format(file=file.name)}"
            )
            continue
        allowed = (*FIELDS[name], MISSING)
        for canon_node, words in value.value:
            canonical = str(canon_node.value)
            if canonical not in allowed:
                problems.append(
                    f"line {_line(canon_node)}: {name}: {canonical!r} is not one of its "
                    f"canonical values ({', '.join(allowed)}). Fix: list the words under one "
                    f"of these in {file.name}"
                )
                continue
            for word in _words(words, f"{name}.{canonical}", file, problems):
                entries.append(_Entry(name, canonical, str(word.value), _line(word)))
    return entries


def _read_file(file: Path) -> list[_Entry]:
    """The entries of one vocabulary file; every problem in it raised at once."""
    if not file.is_file():
        raise ConfigError(
            file, ["no vocabulary file here. Fix: correct `vocabulary:` in popbase.yaml"]
        )
    try:
        root = yaml.compose(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(file, [f"{where}not valid YAML: {exc}"]) from None
    problems: list[str] = []
    entries = _entries(file, root, problems)
    keys = word_keys(pa.array([e.word for e in entries], pa.string())).to_pylist()
    first: dict[tuple[str | None, str], _Entry] = {}
    for entry, key in zip(entries, keys, strict=True):
        if not key:
            problems.append(
                f"line {entry.line}: {entry.word!r} is only punctuation, which always means "
                f"no value. Fix: remove it from {file.name}"
            )
            continue
        seen = first.setdefault((entry.field, key), entry)
        if seen.canonical != entry.canonical:
            problems.append(
                f"line {entry.line}: {entry.field}: {entry.word!r} is listed under both "
                f"{seen.canonical} (line {seen.line}) and {entry.canonical}. Fix: keep it "
                f"under one of them in {file.name}"
            )
    if problems:
        # In the order of the file's lines.
        raise ConfigError(file, sorted(problems, key=lambda p: int(p.split(":")[0][5:])))
    return entries


def load_vocabulary(extension: Path | None = None) -> Vocabulary:
    """The shipped vocabulary, with a project's own file merged over it.

    Parameters
    ----------
    extension
        A project's vocabulary file (``vocabulary:`` in ``popbase.yaml``), or None.

    Returns
    -------
    Vocabulary
        Where both files list a word of a field, the project's meaning wins.

    Raises
    ------
    ConfigError
        Listing every problem of a file, each with its line and the fix.
    """
    files = (SHIPPED,) if extension is None else (SHIPPED, extension)
    meanings: dict[str, dict[str, str]] = {f: {} for f in FIELDS}
    spelled: dict[str, dict[str, str]] = {f: {} for f in FIELDS}  # key → word as written
    missing: set[str] = set()
    for field, values in FIELDS.items():
        for canonical, key in zip(values, word_keys(pa.array(values)).to_pylist(), strict=True):
            meanings[field][key] = canonical
            spelled[field][key] = canonical
    for file in files:
        entries = _read_file(file)
        keys = word_keys(pa.array([e.word for e in entries], pa.string())).to_pylist()
        for entry, key in zip(entries, keys, strict=True):
            if entry.field is None:
                missing.add(key)
            else:
                meanings[entry.field][key] = entry.canonical
                spelled[entry.field].setdefault(key, entry.word)
    spellings: dict[str, dict[str, tuple[str, ...]]] = {}
    for field, meaning in meanings.items():
        by_value: dict[str, list[str]] = {}
        for key, canonical in meaning.items():
            by_value.setdefault(canonical, []).append(spelled[field][key])
        spellings[field] = {c: tuple(words) for c, words in by_value.items()}
    return Vocabulary(meanings, spellings, frozenset(missing), files)
