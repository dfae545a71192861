"""Errors raised by popbase.

Every error derives from :class:`PopbaseError` and also from the builtin that matches it,
so callers may catch either. Messages name what went wrong, the value seen and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class PopbaseError(Exception):
    """Base class of every error popbase raises on purpose."""


class ConfigError(PopbaseError, ValueError):
    """The project file is invalid; ``problems`` lists every problem found at once."""

    def __init__(self, path: Path | str, problems: Iterable[str]) -> None:
        self.path = Path(path)
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{self.path}: {len(self.problems)} problem(s) in the project file:\n{lines}"
        )


class SourceFileError(PopbaseError, OSError):
    """A source file is missing, unreadable or not in the declared format."""

    def __init__(self, path: Path | str, problem: str, fix: str) -> None:
        self.path = Path(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: {problem}. Fix: {fix}")


class EmptyFileError(SourceFileError):
    """A source file holds nothing: no header and no rows.

    No bytes, a byte-order mark and blank lines only, or a sheet without a filled cell
    (``what`` says which; ``fix`` adds to the fix).
    """

    def __init__(self, path: Path | str, what: str, fix: str = "") -> None:
        super().__init__(
            path,
            f"the file is empty ({what}: no header and no rows)",
            "export the table again (with its header row) and replace this file, or remove "
            f"it from the source's folder{fix}",
        )


class MissingColumnError(PopbaseError, KeyError):
    """A column declared in the project file is absent from a source file, or ambiguous.

    ``matches`` lists the headers a name matched when it matched more than one.
    """

    def __init__(
        self,
        path: Path | str | None,
        column: str,
        available: Iterable[str],
        *,
        matches: Iterable[str] = (),
        setting: str = "columns:",
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.column = column
        self.matches = list(matches)
        where = f"{self.path}: " if self.path is not None else ""
        if self.matches:
            shown = ", ".join(self.matches)
            message = (
                f"{where}column {column!r} matches {len(self.matches)} headers: {shown}. "
                "Fix: write the full header name (with its group, as shown) under the "
                f"source's `{setting}`."
            )
        else:
            shown = ", ".join(list(available)[:30])
            message = (
                f"{where}column {column!r} was declared in popbase.yaml but the file has "
                f"only: {shown}. Fix: correct the column name under the source's `{setting}`."
            )
        super().__init__(message)

    def __str__(self) -> str:
        # KeyError quotes its argument; show the message as written.
        return str(self.args[0])


class UndecodableFileError(PopbaseError, UnicodeError):
    """A text file holds bytes that its encoding cannot decode.

    ``encoding`` is the encoding the position refers to; ``tried`` lists every encoding
    tried when it was detected. ``offset`` is the 0-based byte offset of the first bad
    byte and ``line`` its 1-based line in the file.
    """

    DEFAULT_FIX = "re-export the file as UTF-8, or set `encoding:` for this source in popbase.yaml"

    def __init__(
        self,
        path: Path | str,
        encoding: str,
        offset: int,
        line: int,
        bad_bytes: bytes = b"",
        *,
        tried: Iterable[str] = (),
        fix: str = DEFAULT_FIX,
    ) -> None:
        self.path = Path(path)
        self.encoding = encoding
        self.tried = list(tried) or [encoding]
        self.offset = offset
        self.line = line
        self.fix = fix
        if len(self.tried) > 1:
            problem = (
                f"neither {' nor '.join(self.tried)} text; read as {encoding}, which gets "
                "furthest, the first bad byte"
            )
        else:
            problem = f"not valid {encoding} text; the first bad byte"
        shown = " ".join(f"{b:02x}" for b in bad_bytes[:4])
        super().__init__(
            f"{self.path}: {problem} is at byte offset {offset:,} (line {line})"
            f"{': ' + shown if shown else ''}. Fix: {fix}."
        )


class StageError(PopbaseError, RuntimeError):
    """A build stage failed; the previous snapshot keeps serving."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        self.stage = stage
        super().__init__(f"stage {stage!r} failed: {cause}")


class PartialDeliveryError(PopbaseError, RuntimeError):
    """Sources delivered nothing, or far less than last time: the build was not published.

    ``sources`` names them; ``problems`` describes each (files, counts).
    """

    def __init__(
        self, problems: Iterable[str], sources: Iterable[str], project: Path | str = "PROJECT"
    ) -> None:
        self.problems = list(problems)
        self.sources = list(sources)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        accept = " ".join(f"--accept-partial {s}" for s in self.sources)
        super().__init__(
            f"publication stopped: {len(self.problems)} source(s) delivered nothing or far "
            "less than the snapshot being served holds, so the new snapshot would silently "
            f"lose their persons, tags and counts; the served snapshot stays current.\n{lines}"
            "\nFix: correct or re-deliver the files named above and build again; if the "
            f"delivery really is this small, publish it anyway with `popbase build {project} "
            f"{accept}` (or `--accept-partial all`)."
        )


class SnapshotError(PopbaseError, FileNotFoundError):
    """No usable snapshot exists where one was expected."""


class GeometryError(PopbaseError, ValueError):
    """A geometry is invalid and could not be repaired."""
