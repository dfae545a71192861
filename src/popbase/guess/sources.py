"""Delivered tables as sources: files of one shape grouped, named, given their settings.

Files of one shape (the same header, layout and kind) become one source: a folder and a
``pattern`` that matches exactly them (one ledger workbook per street is ``*.xlsx``, one
folder per street ``*/*.xlsx``). Each source is named after the department its file,
folder, sheet or title names (:mod:`popbase.guess.departments`), and gets that
department's default priority, the flags its kind implies (the police register is the
hukou register; social security and operators' night-time residence are presence
evidence), the CRS of its lon/lat columns, and, for a person file without an event-type
column, the events its own columns give (:mod:`popbase.guess.events`).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import shapely

from popbase.guess.columns import ColumnMapping
from popbase.guess.crs import layer_crs
from popbase.guess.departments import Department, department_of
from popbase.guess.events import ColumnGuess, flag_columns, named_event_type, value_columns
from popbase.guess.layers import LayerHead, points_of
from popbase.guess.layout import TableHead
from popbase.guess.vocabulary import SOURCE_VOCAB, header_key

__all__ = ["Setting", "SourceGuess", "common_prefix", "relative", "sources_from_tables"]


@dataclass(frozen=True)
class Setting:
    """A source setting guessed, and why.

    ``asked``: the user must give the value; not ``sure``: the evidence is weak.
    """

    value: object
    why: str
    asked: bool = False
    sure: bool = True


@dataclass
class SourceGuess:
    """A department source guessed from one file or a folder of files of one shape."""

    name: str
    department: str
    department_evidence: str
    known: Department | None
    mapping: ColumnMapping
    heads: list[TableHead]
    path: Path
    pattern: str | None = None
    settings: dict[str, Setting] = field(default_factory=dict)
    event_type: Setting | None = None
    readings: list[ColumnGuess] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """The source kind."""
        return self.mapping.kind

    @property
    def head(self) -> TableHead:
        """The first file's table."""
        return self.heads[0]

    @property
    def points(self) -> LayerHead | None:
        """The sampled rows' lon/lat as a layer of points, when the source maps them."""
        lon, lat = self.mapping.get("lon"), self.mapping.get("lat")
        if lon is None or lat is None:
            return None
        shapes = points_of(self.head.samples[lon.column], self.head.samples[lat.column])
        bounds = None
        if shapes:
            xmin, ymin, xmax, ymax = shapely.total_bounds(np.array(shapes))
            bounds = (float(xmin), float(ymin), float(xmax), float(ymax))
        return LayerHead(self.head.path, None, "point", None, bounds, 0, {}, shapes=shapes)


def relative(path: Path, folders: list[Path]) -> str:
    """``path`` within the delivery folder that holds it, for messages."""
    for folder in folders:
        if path.is_relative_to(folder):
            return str(path.relative_to(folder))
    return str(path)


def _names(head: TableHead, folders: list[Path]) -> list[str]:
    """Texts that may name the department, the most telling first."""
    names = [head.path.stem, head.title, head.sheet or ""]
    parent = head.path.parent
    while not any(parent == f for f in folders) and parent != parent.parent:
        names.append(parent.name)
        parent = parent.parent
    return [n for n in names if n]


def common_prefix(texts: list[str]) -> str:
    """The characters every text starts with.

    >>> common_prefix(["310112001", "310112002001"])
    '31011200'
    """
    if not texts:
        return ""
    first, last = min(texts), max(texts)
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return first[:n]


def _group_pattern(files: list[Path]) -> tuple[Path, str] | None:
    """A folder and a glob in it that match exactly ``files``, or None.

    One ledger per street in one folder is ``*.xlsx``; among other files of the kind,
    the names' common beginning narrows it (``台账_*.xlsx``); one folder per street is
    ``*/*.xlsx``.
    """
    base = Path(os.path.commonpath(files))
    suffix = files[0].suffix
    prefix = glob.escape(common_prefix([f.stem for f in files]))
    depths = {len(f.relative_to(base).parts) for f in files}
    if depths == {1}:
        candidates = [f"*{suffix}", f"{prefix}*{suffix}"]
    elif depths == {2}:
        candidates = [f"*/*{suffix}", f"*/{prefix}*{suffix}"]
    else:
        candidates = [f"**/*{suffix}"]
    for pattern in candidates:
        matched = sorted(
            p for p in base.glob(pattern) if p.is_file() and not p.name.startswith("~$")
        )
        if matched == sorted(files):
            return base, pattern
    return None


def _batches(
    members: list[tuple[TableHead, ColumnMapping]],
) -> list[tuple[list[tuple[TableHead, ColumnMapping]], Path | None, str | None]]:
    """Files of one shape as sources: one with a pattern where a glob fits, else by folder."""
    if len(members) == 1:
        return [(members, None, None)]
    found = _group_pattern([h.path for h, _ in members])
    if found is not None:
        return [(members, *found)]
    by_folder: dict[Path, list[tuple[TableHead, ColumnMapping]]] = {}
    for member in members:
        by_folder.setdefault(member[0].path.parent, []).append(member)
    if len(by_folder) == 1:
        return [([m], None, None) for m in members]
    return [batch for group in by_folder.values() for batch in _batches(group)]


def sources_from_tables(
    heads: list[tuple[TableHead, ColumnMapping]], folders: list[Path]
) -> list[SourceGuess]:
    """Group tables of one shape into sources, name them and give them their settings.

    Parameters
    ----------
    heads
        Each table read, with its column mapping.
    folders
        The delivery's folders (a folder between one and a file may name the department).

    Returns
    -------
    list of SourceGuess
        The sources, with unique names.
    """
    groups: dict[tuple[object, ...], list[tuple[TableHead, ColumnMapping]]] = {}
    for head, mapping in heads:
        key = (head.path.suffix.lower(), head.signature, mapping.kind)
        groups.setdefault(key, []).append((head, mapping))
    sources: list[SourceGuess] = []
    for members in groups.values():
        for batch, folder, pattern in _batches(members):
            head, mapping = batch[0]
            group_names = [folder.name] if folder is not None else []
            known, word = department_of(group_names + _names(head, folders), mapping.kind)
            sources.append(
                SourceGuess(
                    known.name if known else "",
                    known.department if known else "",
                    f"the name says {word}" if word else "",
                    known,
                    mapping,
                    [h for h, _ in batch],
                    folder or head.path,
                    pattern,
                )
            )
    _name_uniquely(sources)
    for source in sources:
        _settings(source, folders)
        _events(source, folders)
    return sources


def _events(source: SourceGuess, folders: list[Path]) -> None:
    """``events:``, ``tags:`` or ``event_type:`` of a person file without an event type.

    See :mod:`popbase.guess.events`; a file that names its rows' events keeps them.
    """
    mapping = source.mapping
    if mapping.kind != "person" or mapping.get("event_type") is not None:
        return
    free = [c for c, why in mapping.unmapped.items() if why == "no canonical field"]
    samples = source.head.samples
    flags = flag_columns(samples, free)
    taken = {g.column for g in flags}
    source.readings = flags + value_columns(samples, [c for c in free if c not in taken])
    if not source.readings:
        named = named_event_type(_names(source.head, folders))
        if named is not None:
            source.event_type = Setting(named[0], named[1], sure=False)
    detail = mapping.get("event_detail")
    weak = SOURCE_VOCAB["person"]["event_detail"].weak_keys
    if detail and header_key(detail.column) in weak and not (source.event_type or source.readings):
        # A note (备注) is an event's detail only in a file of events; a ledger's is a note.
        source.mapping = replace(
            mapping,
            fields=[g for g in mapping.fields if g is not detail],
            unmapped=mapping.unmapped | {detail.column: "no canonical field"},
        )


def _name_uniquely(sources: list[SourceGuess]) -> None:
    taken: set[str] = set()
    unnamed = 0
    for source in sources:
        base = source.name
        if not base:
            unnamed += 1
            base = f"source_{unnamed}"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        source.name = name
        taken.add(name)


def _settings(source: SourceGuess, folders: list[Path]) -> None:
    """Priority, register and presence flags, and the CRS of lon/lat columns."""
    known, mapping = source.known, source.mapping
    if known is not None:
        why = f"default for {known.department}: {known.why}"
        source.settings["priority"] = Setting(known.priority, why)
    else:
        source.settings["priority"] = Setting(50, "the default; rank it against the others")
    if known and known.name == "police_hukou" and mapping.get("hukou_address"):
        why = "only if it is the area's complete household register"
        source.settings["hukou_register"] = Setting(True, why)
    if known and known.name in ("social_security", "operator_presence"):
        why = "an active row says the person is in the city now"
        source.settings["presence"] = Setting(True, why)
    points = source.points
    if points is not None:
        lon, lat = mapping.get("lon"), mapping.get("lat")
        assert lon is not None and lat is not None
        hint = f"{relative(source.head.path, folders)} {lon.column} {lat.column}"
        crs = layer_crs(points, hint)
        source.settings["crs"] = Setting(crs.value, crs.evidence, crs.asked, crs.sure)
