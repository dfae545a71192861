"""The project file ``popbase.yaml``, typed and validated.

A project file names the area the base covers, the basemap layers and every department
source with its format, encoding, header layout and column mapping. :func:`load_project`
reads it, collects *every* problem with the line of YAML it comes from, and raises one
:class:`~popbase.errors.ConfigError` listing them all.

One module per part of the file: :mod:`~popbase.config.space` (the basemap layers),
:mod:`~popbase.config.sources` (the department deliveries, their columns, events and tags),
:mod:`~popbase.config.settings` (the area and the other sections) and
:mod:`~popbase.config.project` (the whole file: loading and reporting).
"""

from popbase.config.project import (
    PROJECT_FILE,
    Project,
    ProjectConfig,
    dump_project,
    load_project,
)
from popbase.config.settings import (
    AccessConfig,
    IngestConfig,
    OutputConfig,
    PasswordHashConfig,
    PortraitConfig,
    ProjectInfo,
    QualityConfig,
    ResolutionConfig,
    ThrottleConfig,
)
from popbase.config.sources import (
    CANONICAL_FIELDS,
    REQUIRED_FIELDS,
    ColumnReading,
    EventColumn,
    SourceConfig,
    SourceKind,
    TagColumn,
)
from popbase.config.space import (
    GEOMETRY_FIELDS,
    LAYER_EXAMPLES,
    LAYER_FIELDS,
    BuildingLayerConfig,
    DivisionLayerConfig,
    FacilityLayerConfig,
    GridLayerConfig,
    LayerConfig,
    RoomLayerConfig,
    SpaceConfig,
    space_example,
)

__all__ = [
    "CANONICAL_FIELDS",
    "GEOMETRY_FIELDS",
    "LAYER_EXAMPLES",
    "LAYER_FIELDS",
    "PROJECT_FILE",
    "REQUIRED_FIELDS",
    "AccessConfig",
    "BuildingLayerConfig",
    "ColumnReading",
    "DivisionLayerConfig",
    "EventColumn",
    "FacilityLayerConfig",
    "GridLayerConfig",
    "IngestConfig",
    "LayerConfig",
    "OutputConfig",
    "PasswordHashConfig",
    "PortraitConfig",
    "Project",
    "ProjectConfig",
    "ProjectInfo",
    "QualityConfig",
    "ResolutionConfig",
    "RoomLayerConfig",
    "SourceConfig",
    "SourceKind",
    "SpaceConfig",
    "TagColumn",
    "ThrottleConfig",
    "dump_project",
    "load_project",
    "space_example",
]
