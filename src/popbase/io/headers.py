"""Header names: flatten multi-row headers, make names unique, resolve configured names.

Department ledgers group fields under labels in a row above the field names, with the
label in a merged cell over its group::

    | 序号 |       基本信息        |  联系方式   |
    |      | 姓名 | 性别 | 身份证号 | 电话 | 地址 |

Flattened, each column's name joins its non-empty labels from top to bottom with "/":
``序号``, ``基本信息/姓名``, …, ``联系方式/地址``. A configured column may name the full
path or, when unique, just the last part (``姓名``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from popbase.errors import MissingColumnError

SEPARATOR = "/"
_WHITESPACE = re.compile(r"\s+")


def carry_group_labels(rows: list[list[str]]) -> list[list[str]]:
    """Repeat each group label over its group, for headers read without merge ranges.

    A merged cell keeps its text only in its first cell. Without the merge ranges (CSV,
    or a workbook that centres labels across cells without merging them), a label in a
    row above the last is carried rightwards over empty cells while the columns below
    have names, and it stops at an upper group's boundary. A label with nothing below it
    (a field name merged downwards, such as "序号") opens no group.

    Parameters
    ----------
    rows
        Header rows of equal width, cell text stripped.

    Returns
    -------
    list of list of str
        A copy with the group labels repeated.
    """
    filled = [list(r) for r in rows]
    depth = len(rows)
    for r in range(depth - 1):
        current = ""
        for c, label in enumerate(rows[r]):
            below = any(rows[k][c] for k in range(r + 1, depth))
            if label:
                current = label if below else ""
            elif current and below and all(filled[k][c] == filled[k][c - 1] for k in range(r)):
                filled[r][c] = current
            else:
                current = ""
    return filled


def flatten_header(rows: list[list[str]], *, merged: bool = False) -> list[str]:
    """Flatten header rows into one name per column.

    Parameters
    ----------
    rows
        Header rows of equal width, cell text stripped.
    merged
        Whether the merged ranges were already filled in (every cell of a merged range
        holds its label); if not, group labels are carried with
        :func:`carry_group_labels`.

    Returns
    -------
    list of str
        The names; a column without any label gets ``""``.

    Examples
    --------
    >>> flatten_header([["序号", "基本信息", ""], ["", "姓名", "性别"]])
    ['序号', '基本信息/姓名', '基本信息/性别']
    """
    grid = rows if merged else carry_group_labels(rows)
    names = []
    for column in zip(*grid, strict=True):
        parts: list[str] = []
        for label in column:
            # A label merged downwards appears in each of its rows: keep it once.
            if label and (not parts or parts[-1] != label):
                parts.append(label)
        names.append(SEPARATOR.join(parts))
    return names


def unique_names(names: Iterable[str]) -> list[str]:
    """Suffix repeated names with ``_2``, ``_3`` … so every name is unique.

    Examples
    --------
    >>> unique_names(["姓名", "电话", "姓名", "姓名"])
    ['姓名', '电话', '姓名_2', '姓名_3']
    """
    names = list(names)
    taken = set(names)
    seen: set[str] = set()
    result = []
    for name in names:
        if name in seen:
            n = 2
            while f"{name}_{n}" in taken:
                n += 1
            name = f"{name}_{n}"
            taken.add(name)
        seen.add(name)
        result.append(name)
    return result


def header_merges(header: list[list[str]]) -> list[tuple[int, int, int, int]]:
    """Return the merged ranges a header implies, as 0-based ``(row0, col0, row1, col1)``.

    Parameters
    ----------
    header
        Header rows as given to :class:`Sheet`.

    Returns
    -------
    list of tuple of int
        Inclusive ranges relative to the first header row.
    """
    merges: list[tuple[int, int, int, int]] = []
    width = max((len(r) for r in header), default=0)
    grid = [list(r) + [""] * (width - len(r)) for r in header]
    starts: set[int] = {0}  # columns where a group of an upper row begins
    for r, row in enumerate(grid[:-1]):
        row_starts = set(starts)
        for c, label in enumerate(row):
            if not label:
                continue
            row_starts.add(c)
            end = c
            while end + 1 < width and not row[end + 1] and end + 1 not in starts:
                end += 1
            below_empty = all(not grid[k][c] for k in range(r + 1, len(grid)))
            if end == c and below_empty:
                merges.append((r, c, len(grid) - 1, c))
            elif end > c:
                merges.append((r, c, r, end))
                row_starts.add(end + 1)
        starts = row_starts
    return merges


def _last_part(name: str) -> str:
    return name.rsplit(SEPARATOR, 1)[-1]


def resolve_column(columns: list[str], wanted: str, *, path: Path | str | None = None) -> str:
    r"""Return the header a configured column name refers to.

    Tried in order, the first unique match wins: the exact name; the last "/"-part of a
    flattened name; then both again ignoring whitespace, since headers often hold line
    breaks ("公民身份\n号码") that nobody types in a project file.

    Parameters
    ----------
    columns
        The table's header names.
    wanted
        The name from the project file.
    path
        The file, named in the error.

    Returns
    -------
    str
        One of ``columns``.

    Raises
    ------
    MissingColumnError
        No header matches, or several do (then listing them).

    Examples
    --------
    >>> resolve_column(["序号", "基本信息/姓名", "联系方式/电话"], "姓名")
    '基本信息/姓名'
    """
    if wanted in columns:
        return wanted

    def squeeze(text: str) -> str:
        return _WHITESPACE.sub("", text)

    tests: list[Callable[[str], bool]] = [
        lambda c: _last_part(c) == wanted,
        lambda c: squeeze(c) == squeeze(wanted),
        lambda c: squeeze(_last_part(c)) == squeeze(wanted),
    ]
    for test in tests:
        matches = [c for c in columns if test(c)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise MissingColumnError(path, wanted, columns, matches=matches)
    raise MissingColumnError(path, wanted, columns)
