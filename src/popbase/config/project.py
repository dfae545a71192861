"""The whole project file: loaded, every problem reported with its line, and dumped."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import (
    Field,
    ValidationError,
    field_validator,
)

from popbase.config._base import _Strict
from popbase.config.settings import (
    AccessConfig,
    IngestConfig,
    OutputConfig,
    PortraitConfig,
    ProjectInfo,
    QualityConfig,
    ResolutionConfig,
)
from popbase.config.sources import SourceConfig
from popbase.config.space import DivisionLayerConfig, SpaceConfig, space_example
from popbase.errors import ConfigError

if TYPE_CHECKING:
    from popbase.values.vocabulary import Vocabulary

PROJECT_FILE = "popbase.yaml"


class ProjectConfig(_Strict):
    """The whole project file."""

    project: ProjectInfo
    space: SpaceConfig
    sources: list[SourceConfig]
    output: OutputConfig = OutputConfig()
    resolution: ResolutionConfig = ResolutionConfig()
    portraits: PortraitConfig = PortraitConfig()
    quality: QualityConfig = QualityConfig()
    ingest: IngestConfig = IngestConfig()
    access: AccessConfig = AccessConfig()
    vocabulary: Path | None = Field(
        default=None,
        description="A file of the project's own words (sex, statuses, building use …), "
        "merged over the shipped vocabulary",
    )

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, v: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for s in v:
            if s.name in seen:
                raise ValueError(f"source name {s.name!r} is used twice; names must be unique")
            seen.add(s.name)
        return v


class Project:
    """A loaded project: its folder and its validated configuration.

    Parameters
    ----------
    root
        The project folder (where ``popbase.yaml`` lives); relative paths resolve here.
    config
        The validated configuration.
    """

    def __init__(self, root: Path, config: ProjectConfig) -> None:
        self.root = root
        self.config = config

    def path(self, p: Path) -> Path:
        """Resolve a path from the project file against the project folder."""
        return p if p.is_absolute() else self.root / p

    @property
    def output_dir(self) -> Path:
        """Folder that holds ``snapshots/`` and the ``current`` pointer."""
        return self.path(self.config.output.dir)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """The shipped vocabulary with the project's own file (``vocabulary:``) merged over it."""
        from popbase.values.vocabulary import load_vocabulary

        extension = self.config.vocabulary
        return load_vocabulary(self.path(extension) if extension else None)

    def source(self, name: str) -> SourceConfig:
        """Return the source called ``name``."""
        for s in self.config.sources:
            if s.name == name:
                return s
        raise KeyError(name)

    def __repr__(self) -> str:
        return f"Project({self.root!s}, {self.config.project.name!r})"


def _node_at(node: yaml.Node | None, loc: tuple[int | str, ...]) -> yaml.Node | None:
    """Follow a pydantic error location through the composed YAML tree."""
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == key:
                    nxt = v
                    break
            if nxt is None:
                return node
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                return node
            node = node.value[key]
        else:
            return node
    return node


def _describe(err: Any, root: yaml.Node | None) -> str:
    loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))
    if (
        loc[:2] == ("space", "divisions")
        and len(loc) > 2
        and isinstance(loc[2], int)
        and isinstance(_node_at(root, loc[:2]), yaml.MappingNode)
    ):
        loc = loc[:2] + loc[3:]  # one layer, held as a list of one: named as it is written
    msg = str(err["msg"]).removeprefix("Value error, ")
    node = _node_at(root, loc)
    # Point an unknown canonical field at its own line, not at the mapping's first.
    unknown = re.match(r"unknown canonical field '([^']+)'", msg)
    if unknown and isinstance(node, yaml.MappingNode):
        node = next((k for k, _ in node.value if k.value == unknown[1]), node)
    line = f"line {node.start_mark.line + 1}: " if node is not None else ""
    where = ".".join(str(x) for x in loc) or "(top level)"
    if err["type"] == "missing":
        msg = "is required but missing"
    elif err["type"] == "extra_forbidden":
        msg = "is not a known setting (check its spelling and indentation)"
    if loc and loc[0] == "space":
        msg = _space_problem(loc, err, msg)
    return f"{line}{where}: {msg}"


def _space_problem(loc: tuple[int | str, ...], err: Any, msg: str) -> str:
    """A problem of the space section, with what it takes and an example of the fix."""
    layer = str(loc[1]) if len(loc) > 1 else None
    if err["type"] in ("model_type", "dict_type") and len(loc) == 1:
        msg = f"was {err['input']!r}, expected a mapping of the basemap's layers"
    elif err["type"] in ("model_type", "dict_type") and len(loc) == 2:
        msg = (
            f"was {err['input']!r}, expected a layer: a mapping with `path:` "
            "(and `fields:`, `crs:`, `layer:`)"
        )
    elif err["type"] == "extra_forbidden" and len(loc) == 2:
        msg += f"; space takes {', '.join(SpaceConfig.model_fields)}"
    elif err["type"] == "extra_forbidden":
        settings = [
            n for n in DivisionLayerConfig.model_fields if layer == "divisions" or n != "level"
        ]
        msg += f"; a {layer} layer takes {', '.join(settings)}"
    stop = "" if msg.endswith(("?", ".")) else "."
    return f"{msg}{stop} Fix: e.g. {space_example(layer)}"


def load_project(path: Path | str) -> Project:
    """Read and validate a project.

    Parameters
    ----------
    path
        The project folder or its ``popbase.yaml``.

    Returns
    -------
    Project
        The project with its validated configuration.

    Raises
    ------
    ConfigError
        Listing every problem found, each with its line in the file.
    """
    path = Path(path)
    file = path / PROJECT_FILE if path.is_dir() else path
    if not file.exists():
        raise ConfigError(
            file,
            [f"no project file here; create {PROJECT_FILE} (or run `popbase sample DIR`)"],
        )
    text = file.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(file, [f"{where}not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ConfigError(file, ["the file must be a mapping with project, space and sources"])
    problems = []
    config = None
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(e, root) for e in exc.errors()]
    problems += _missing_paths(data, root, file.parent)
    if config is not None:
        problems += _unknown_tags(config, root, file.parent)
    if problems or config is None:
        raise ConfigError(file, problems)
    project = Project(file.parent, config)
    if config.vocabulary is not None:
        project.vocabulary  # noqa: B018 - read now: its problems are the project file's
    return project


def _missing_paths(data: dict[str, Any], root: yaml.Node | None, folder: Path) -> list[str]:
    """Paths the file names that do not exist, each with its line.

    Read from the raw YAML, so they are found even when other settings are invalid.
    """
    found: list[str] = []

    def check(loc: tuple[int | str, ...], what: str, value: object, example: str = "") -> None:
        if not isinstance(value, str) or not value:
            return
        path = Path(value)
        if not (path if path.is_absolute() else folder / path).exists():
            node = _node_at(root, loc)
            line = f"line {node.start_mark.line + 1}: " if node is not None else ""
            fix = f". Fix: correct `path:`, e.g. {example}" if example else ""
            found.append(
                f"{line}{what}: path {value} does not exist (relative paths are read from "
                f"{folder}){fix}"
            )

    space = data.get("space")
    if isinstance(space, dict):
        for name, layer in space.items():
            several = isinstance(layer, list)
            for i, one in enumerate(layer if several else [layer]):
                if isinstance(one, dict):
                    at: tuple[int | str, ...] = ("space", name, i) if several else ("space", name)
                    where = ".".join(str(x) for x in at)
                    check((*at, "path"), where, one.get("path"), space_example(str(name)))
    check(("vocabulary",), "vocabulary", data.get("vocabulary"))
    sources = data.get("sources")
    if isinstance(sources, list):
        for i, source in enumerate(sources):
            if isinstance(source, dict):
                check(("sources", i, "path"), f"source {source.get('name')!r}", source.get("path"))
    return found


def _unknown_tags(config: ProjectConfig, root: yaml.Node | None, folder: Path) -> list[str]:
    """Tags the sources' ``tags:`` name that the portrait rules lack, each with its line.

    A rules file that does not load is left to the build, which reports its problems.
    """
    if not any(s.tags for s in config.sources):
        return []
    # Imported here: only a project that gives tags from columns needs the rules.
    from popbase.portraits.column_events import unknown_tags
    from popbase.portraits.rules import load_rules

    rules = config.portraits.rules
    try:
        ids = [r.id for r in load_rules(None if rules is None else folder / rules).tags]
    except ConfigError:
        return []
    found = []
    for loc, message in unknown_tags(config.sources, ids):
        node = _node_at(root, loc)
        line = f"line {node.start_mark.line + 1}: " if node is not None else ""
        found.append(f"{line}{'.'.join(str(x) for x in loc)}: {message}")
    return found


def dump_project(config: ProjectConfig) -> str:
    """Render a configuration as YAML text with stable key order."""
    data = config.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("output", {})
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
