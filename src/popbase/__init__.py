"""popbase: a household-precise population base for a Chinese city's digital twin."""

from popbase.errors import (
    ConfigError,
    GeometryError,
    MissingColumnError,
    PopbaseError,
    SnapshotError,
    SourceFileError,
    StageError,
    UndecodableFileError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "GeometryError",
    "MissingColumnError",
    "PopbaseError",
    "SnapshotError",
    "SourceFileError",
    "StageError",
    "UndecodableFileError",
    "__version__",
]
