"""The same sample city in the shapes real projects come in.

A city's departments deliver what they have, as they keep it: one project has no
micro-grids, another no operator data, a third no housing table. :func:`write_shape`
copies a generated sample project (sources, basemap, truth) into a new folder in another
shape and writes its ``popbase.yaml``, so the same city — and the same ground truth —
can be built in each shape and the scores compared.

Optional parts (:data:`OPTIONAL_PARTS`) a shape may leave out:

``grids``, ``facilities``, ``roads``
    basemap layers;
``housing``
    the housing table (rooms are then rebuilt from residents' addresses);
``located_presence``
    presence sources with coordinates (the operators' night-time residence);
``presence``
    every presence source, located or not (with social security, employment links);
``signaling``, ``enterprise_registry``, ``civil_affairs``, ``health``, ``hotline``
    the department sources of those names.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from popbase.config import PROJECT_FILE

__all__ = ["OPTIONAL_PARTS", "Shape", "write_shape"]

# Basemap layers a project may lack.
OPTIONAL_LAYERS: Final = ("grids", "facilities", "roads")
# Department sources a project may lack, by the sample's source names.
OPTIONAL_SOURCES: Final = (
    "housing",
    "signaling",
    "enterprise_registry",
    "civil_affairs",
    "health",
    "hotline",
)
OPTIONAL_PARTS: Final = (*OPTIONAL_LAYERS, *OPTIONAL_SOURCES, "located_presence", "presence")


@dataclass(frozen=True)
class Shape:
    """How a project delivers its city.

    Attributes
    ----------
    omit
        Optional parts left out (names from :data:`OPTIONAL_PARTS`).
    """

    omit: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.omit) - set(OPTIONAL_PARTS))
        if unknown:
            raise ValueError(
                f"unknown optional parts {unknown}; choose among {', '.join(OPTIONAL_PARTS)}"
            )

    @property
    def name(self) -> str:
        """A short name for reports and test ids."""
        return "without-" + "-".join(sorted(self.omit)) if self.omit else "canonical"


def _drops_source(source: dict[str, Any], omit: frozenset[str]) -> bool:
    if source["name"] in omit:
        return True
    if not source.get("presence"):
        return False
    located = "lon" in source.get("columns", {})
    return "presence" in omit or ("located_presence" in omit and located)


def shaped_config(config: dict[str, Any], shape: Shape) -> dict[str, Any]:
    """The project file's content (as loaded from YAML) for ``shape``."""
    out = dict(config)
    out["space"] = {k: v for k, v in config["space"].items() if k not in shape.omit}
    out["sources"] = [s for s in config["sources"] if not _drops_source(s, shape.omit)]
    return out


def write_shape(sample: Path | str, out: Path | str, shape: Shape) -> Path:
    """Copy the sample project ``sample`` into ``out`` in ``shape``.

    Parameters
    ----------
    sample
        A project written by ``popbase sample`` (its builds are not copied).
    out
        The folder to create; it must not exist.
    shape
        The shape to deliver the city in.

    Returns
    -------
    pathlib.Path
        The new project's ``popbase.yaml``.
    """
    sample, out = Path(sample), Path(out)
    shutil.copytree(
        sample, out, ignore=shutil.ignore_patterns("snapshots", "work", "current", "users.json")
    )
    config = yaml.safe_load((sample / PROJECT_FILE).read_text(encoding="utf-8"))
    path = out / PROJECT_FILE
    path.write_text(
        yaml.safe_dump(shaped_config(config, shape), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return path
