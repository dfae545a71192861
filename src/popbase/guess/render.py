"""Write a guessed project as a commented ``popbase.yaml``, and summarise it.

Every guess carries its evidence in a trailing comment ending in a mark: ``confirm`` where
the header is a known name and the values agree, ``CHECK`` where the evidence is weak (a
header that only contains a known stem, values alone, values that disagree). What could
not be mapped is listed in comments where it was found, and files placed nowhere at the
end. When the guesses are right the file loads as it is (:func:`popbase.config.load_project`).
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import yaml

from popbase.guess.columns import FieldGuess
from popbase.guess.events import ColumnGuess
from popbase.guess.layer_roles import LayerGuess
from popbase.guess.project import ProjectGuess
from popbase.guess.sources import SourceGuess

__all__ = ["Summary", "project_text", "summarize"]

CONFIRM: Final = "confirm"
CHECK: Final = "CHECK"
_COMMENT_AT: Final = 34
# Written where only the user can tell (a projected CRS no file names): the project
# file does not load, or the layer is not read, until it is replaced.
ASK: Final = "?"
_SPACE_ORDER: Final = ("divisions", "grids", "buildings", "roads", "facilities")
_NEEDED_LAYERS: Final = {
    "divisions": "the division boundaries (polygons with statistical codes and names)",
    "buildings": "the buildings (footprints or points with an id and a door-plate address)",
}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _scalar(value: object) -> str:
    """A YAML scalar that reads back as ``value`` (quoted only where needed).

    Examples
    --------
    >>> _scalar("310112"), _scalar("基本信息/姓名"), _scalar("a: b"), _scalar(True)
    ('"310112"', '基本信息/姓名', '"a: b"', 'true')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | dt.date):
        return str(value)
    text = str(value)
    plain = text and text == text.strip() and "#" not in text and "\n" not in text
    if plain:
        try:
            plain = yaml.safe_load(f"k: {text}") == {"k": text}
        except yaml.YAMLError:
            plain = False
    return text if plain else json.dumps(text, ensure_ascii=False)


def _flat(text: str) -> str:
    return " ".join(text.split())


@dataclass
class _Writer:
    lines: list[str] = field(default_factory=list)

    def line(self, indent: int, text: str, comment: str = "") -> None:
        body = " " * indent + text
        if comment:
            pad = max(2, _COMMENT_AT - _width(body))
            body += " " * pad + "# " + _flat(comment)
        self.lines.append(body.rstrip())

    def note(self, indent: int, text: str) -> None:
        self.lines.append(" " * indent + "# " + _flat(text))


def _mark(sure: bool) -> str:
    return CONFIRM if sure else CHECK


def _field_comment(guess: FieldGuess) -> str:
    return f"guessed from {guess.evidence} — {_mark(guess.sure)}"


def _path(path: Path, project: Path) -> str:
    path, project = path.resolve(), project.resolve()
    return str(path.relative_to(project)) if path.is_relative_to(project) else str(path)


def _link_path(path: Path, project: Path) -> str:
    """A path as named, not where a link (``current``) points."""
    parent = _path(path.parent, project)
    return path.name if parent == "." else f"{parent}/{path.name}"


def _header(w: _Writer, guess: ProjectGuess) -> None:
    froms = ", ".join(str(f) for f in guess.folders)
    for text in (
        f"popbase project file written by `popbase init` on {dt.date.today()} from {froms}.",
        f'Every guess ends in "{CONFIRM}" (known names, values agree) or "{CHECK}" (weak',
        "evidence). Correct what is wrong and delete the marks; columns map popbase's",
        "canonical fields (left) to the names in the files (right). Paths are relative to",
        "this file. Then run `popbase check space PROJECT` and `popbase build PROJECT`.",
    ):
        w.note(0, text)
    w.line(0, "project:")
    name, why = guess.name
    w.line(2, f"name: {_scalar(name or '待填写')}", f"{why} — {_mark(bool(name))}")
    code, why = guess.region_code
    w.line(2, f"region_code: {_scalar(code)}", f"{why} — {_mark(bool(code))}")
    day, why = guess.as_of
    w.line(2, f"as_of: {day.isoformat()}", f"from {why} — {CONFIRM}")


def _layer(w: _Writer, layer: LayerGuess, project: Path, *, item: bool = False) -> None:
    """One layer: ``role:`` and its settings, or (``item``) one entry of a list of them."""
    at = 4
    if item:
        w.line(
            4, f"- path: {_scalar(_path(layer.head.path, project))}", f"{layer.what} — {CONFIRM}"
        )
        at = 6
    else:
        w.line(2, f"{layer.role}:", f"{layer.what} — {CONFIRM}")
        w.line(at, f"path: {_scalar(_path(layer.head.path, project))}")
    _layer_settings(w, layer, at)


def _layer_settings(w: _Writer, layer: LayerGuess, at: int) -> None:
    if layer.head.layer:
        w.line(at, f"layer: {_scalar(layer.head.layer)}", f"one of the file's layers — {CONFIRM}")
    if layer.role == "divisions":
        if layer.level:
            w.line(at, f"level: {layer.level}", f"{layer.level_evidence} — {CONFIRM}")
        elif layer.short_codes and layer.column("level") is None:
            w.note(at, f"level: ?  — {layer.level_evidence} — {CHECK}")
    crs = layer.crs
    if crs.value and not crs.asked:
        w.line(at, f"crs: {_scalar(crs.value)}", f"{crs.evidence} — {_mark(crs.sure)}")
    elif crs.asked:
        w.line(at, f"crs: {_scalar(ASK)}", f"{crs.evidence}: give it (e.g. EPSG:4549) — {CHECK}")
    elif crs.sure:
        w.note(at, f"CRS: {crs.evidence}")
    else:
        w.note(at, f"crs: the file's own — {crs.evidence} — {CHECK}")
    w.line(at, "fields:")
    for guess in layer.fields:
        w.line(at + 2, f"{guess.field}: {_scalar(guess.column)}", _field_comment(guess))
    if layer.role in ("buildings", "facilities") and layer.column("id") is None:
        w.note(at + 2, f"id: ?  — required: the field that identifies each feature — {CHECK}")
    if layer.unmapped:
        unmapped = ", ".join(f"{c} ({why})" for c, why in layer.unmapped.items())
        w.note(at + 2, "not mapped: " + unmapped)


def _space(w: _Writer, guess: ProjectGuess, project: Path) -> None:
    w.line(0, "")
    w.line(0, "space:")
    if len(guess.divisions) == 1:
        _layer(w, guess.divisions[0], project)
    elif guess.divisions:
        w.line(2, "divisions:", f"{len(guess.divisions)} layers, coarsest first — {CONFIRM}")
        for layer in guess.divisions:
            _layer(w, layer, project, item=True)
    else:
        w.note(2, f"divisions: not found — required: {_NEEDED_LAYERS['divisions']} — {CHECK}")
    for role in _SPACE_ORDER[1:]:
        if role in guess.layers:
            _layer(w, guess.layers[role], project)
        elif role in _NEEDED_LAYERS:
            w.note(2, f"{role}: not found — required: {_NEEDED_LAYERS[role]} — {CHECK}")
    for spare, why in guess.spare_layers:
        w.note(
            2,
            f"also a {spare.role} layer, not used ({why}): "
            f"{_path(spare.head.path, project)} ({spare.what})",
        )


def _source(w: _Writer, source: SourceGuess, project: Path) -> None:
    head, mapping = source.head, source.mapping
    named = bool(source.department_evidence)
    w.line(
        2,
        f"- name: {source.name}",
        f"{source.department_evidence or 'no name says'} — {_mark(named)}",
    )
    department = source.department or "待填写"
    w.line(
        4,
        f"department: {_scalar(department)}",
        f"the department that delivered it — {_mark(named)}",
    )
    mapped = f"{len(mapping.fields)} of {len(head.columns)} columns mapped"
    w.line(4, f"kind: {mapping.kind}", f"{mapped} — {CONFIRM}")
    w.line(4, f"path: {_scalar(_path(source.path, project))}")
    if source.pattern:
        w.line(
            4,
            f"pattern: {_scalar(source.pattern)}",
            f"{len(source.heads)} files of one shape — {CONFIRM}",
        )
    if head.sheet:
        w.line(4, f"sheet: {_scalar(head.sheet)}", f"the workbook has several sheets — {CONFIRM}")
    if head.format in ("csv", "tsv"):
        detected = (head.encoding or "").upper().replace("GB18030", "GB18030 (reads GBK)")
        w.line(4, "encoding: auto", f"detected {detected}")
    if head.skip_rows:
        w.line(
            4, f"skip_rows: {head.skip_rows}", f"title or notes rows above the header — {CONFIRM}"
        )
    if head.header_rows > 1:
        w.line(4, f"header_rows: {head.header_rows}", f"group labels over field names — {CONFIRM}")
    for key, setting in source.settings.items():
        if setting.asked or setting.value is None:
            w.line(
                4, f"{key}: {_scalar(ASK)}", f"{setting.why}: give it (e.g. EPSG:4549) — {CHECK}"
            )
        else:
            w.line(4, f"{key}: {_scalar(setting.value)}", f"{setting.why} — {_mark(setting.sure)}")
    if source.event_type is not None:
        setting = source.event_type
        w.line(4, f"event_type: {_scalar(setting.value)}", f"{setting.why} — {CHECK}")
    w.line(4, "columns:")
    for guess in mapping.fields:
        w.line(6, f"{guess.field}: {_scalar(guess.column)}", _field_comment(guess))
    read = {g.column for g in source.readings}
    unmapped = {c: why for c, why in mapping.unmapped.items() if c not in read}
    if unmapped:
        w.note(6, "not mapped: " + ", ".join(f"{c} ({why})" for c, why in unmapped.items()))
    for target in ("events", "tags"):
        entries = [g for g in source.readings if g.target == target]
        if entries:
            w.line(4, f"{target}:", "columns whose cells say what a row records")
        for entry in entries:
            _reading(w, entry)


def _flow(value: str) -> str:
    """A scalar inside a flow sequence or mapping (``[高血压, 糖尿病]``), quoted if needed.

    >>> _flow("高血压"), _flow("a, b"), _flow("是")
    ('高血压', '"a, b"', '是')
    """
    try:
        plain = bool(value) and yaml.safe_load(f"[{value}]") == [value]
    except yaml.YAMLError:
        plain = False
    return value if plain else json.dumps(value, ensure_ascii=False)


def _reading(w: _Writer, entry: ColumnGuess) -> None:
    """One ``events:`` or ``tags:`` entry, with its evidence and the values left to add."""
    w.line(6, f"- column: {_scalar(entry.column)}", f"{entry.evidence} — {CHECK}")
    if entry.event_type is not None:
        w.line(8, f"event_type: {_scalar(entry.event_type)}")
    if entry.tag is not None:
        w.line(8, f"tag: {_scalar(entry.tag)}")
    if isinstance(entry.values, list):
        w.line(8, "values: [" + ", ".join(_flow(v) for v in entry.values) + "]")
    elif entry.values is not None:
        pairs = ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in entry.values.items())
        w.line(8, "values: {" + pairs + "}")
    if entry.unknown:
        w.note(
            8,
            "also seen, no rule's word: "
            + ", ".join(entry.unknown)
            + " — add each under values (to an event type, or to nothing)",
        )


def project_text(guess: ProjectGuess, project: Path) -> str:
    """The commented ``popbase.yaml`` of a guessed project.

    Parameters
    ----------
    guess
        The guess.
    project
        The project folder the file is written to (paths are written relative to it).

    Returns
    -------
    str
        The file's text.
    """
    w = _Writer()
    _header(w, guess)
    _space(w, guess, project)
    w.line(0, "")
    w.line(0, "sources:" if guess.sources else "sources: []")
    for i, source in enumerate(guess.sources):
        if i:
            w.line(0, "")
        _source(w, source, project)
    if guess.unplaced:
        w.line(0, "")
        w.note(0, "Files placed nowhere (neither a source nor a map layer):")
        for item in guess.unplaced:
            w.note(0, f"  {_path(item.path, project)}: {item.why}")
    if guess.skipped:
        w.line(0, "")
        w.note(0, "Not read: popbase's own outputs")
        for item in guess.skipped:
            w.note(0, f"  {_link_path(item.path, project)}: {item.why}")
    return "\n".join(w.lines) + "\n"


@dataclass
class Summary:
    """What ``popbase init`` tells the user: mapped, to check, left out."""

    mapped: list[str]
    to_check: list[str]
    left_out: list[str]


def summarize(guess: ProjectGuess, project: Path) -> Summary:
    """The short account of a guess printed by ``popbase init``."""
    mapped, to_check, left_out = [], [], []
    for layer in [*guess.divisions, *guess.layers.values()]:
        role = layer.role
        mapped.append(f"{role}: {_path(layer.head.path, project)} ({layer.what})")
        to_check += [
            f"{role}.{g.field} ← {g.column}: {g.evidence}" for g in layer.fields if not g.sure
        ]
        if layer.crs.asked:
            to_check.append(f"{role}: {layer.crs.evidence}; give its crs")
        elif not layer.crs.sure:
            to_check.append(f"{role}: {_path(layer.head.path, project)}: {layer.crs.evidence}")
        if role == "divisions" and layer.short_codes and not layer.level:
            to_check.append(f"{role}: {_path(layer.head.path, project)}: {layer.level_evidence}")
    for role in _NEEDED_LAYERS:
        if role not in guess.layers and not (role == "divisions" and guess.divisions):
            to_check.append(f"space.{role}: not found ({_NEEDED_LAYERS[role]})")
    for source in guess.sources:
        files = f"{len(source.heads)} files" if source.pattern else _path(source.path, project)
        mapped.append(
            f"{source.name} ({source.kind}, {source.department or '?'}): {files}, "
            f"{len(source.mapping.fields)} columns"
        )
        weak = [g for g in source.mapping.fields if not g.sure]
        to_check += [f"{source.name}.{g.field} ← {g.column}: {g.evidence}" for g in weak]
        if not source.department_evidence:
            to_check.append(f"{source.name}: no name says its department")
        to_check += [
            f"{source.name}.{k}: {s.why}"
            for k, s in source.settings.items()
            if s.asked or not s.sure
        ]
        if source.event_type is not None:
            to_check.append(f"{source.name}.event_type: {source.event_type.why}")
        to_check += [
            f"{source.name}.{g.target} ← {g.column}: {g.evidence}" for g in source.readings
        ]
        read = {g.column for g in source.readings}
        left_out += [
            f"{source.name}: {c} ({why})"
            for c, why in source.mapping.unmapped.items()
            if c not in read
        ]
    if not guess.region_code[0]:
        to_check.append("project.region_code: " + guess.region_code[1])
    left_out += [f"{_path(u.path, project)}: {u.why}" for u in guess.unplaced]
    left_out += [
        f"{_path(s.head.path, project)}: another {s.role} layer ({why})"
        for s, why in guess.spare_layers
    ]
    left_out += [
        f"{_link_path(u.path, project)}: not read, popbase's own output ({u.why})"
        for u in guess.skipped
    ]
    return Summary(mapped, to_check, left_out)
