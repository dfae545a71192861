"""``popbase init`` on every shape: the project it guesses maps what the shape's own maps.

Each shape of the shape matrix (tests/test_shapes.py, imported: a new shape is covered
here too) writes the tiny city as some city's departments deliver it. Its project file
is put aside and ``popbase init`` guesses one from the folder alone (no ``--from``: the
folder also holds the sample's ground truth, which init must not read). The guess must
map what the shape maps: for each source, a source of the same files and kind that maps
each canonical field the shape maps to the same column (init may map more, never
otherwise), and the same layers with the same fields, level and CRS. The guessed file
must load as a project. Nothing is built here: tests/test_guess_project.py builds one.

What init cannot know, the test says, and accepts only marked ``CHECK``, never
confirmed: coordinates in GCJ-02 or BD-09 in a file no name marks, where no polygons of
known CRS have enough of those features near their edge to tell the readings apart.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyogrio
import pyproj
import pytest

from popbase.config import (
    ColumnReading,
    DivisionLayerConfig,
    LayerConfig,
    Project,
    SourceConfig,
    load_project,
)
from popbase.guess import ProjectGuess, init_project
from popbase.guess.crs import offset_hint
from popbase.guess.render import CHECK
from popbase.io.headers import SEPARATOR
from popbase.io.sources import source_files
from popbase.portraits.rules import load_rules
from popbase.sample.shapes import Shape, write_shape
from popbase.space.divisions import level_of_word
from popbase.space.offsets import offset_crs_name
from test_shapes import DRAWN, SHAPES

ALL_SHAPES = [*SHAPES, *(Shape.draw(seed).name for seed in DRAWN)]


# Event columns of the shapes whose name and values hold no word of the portrait rules:
# nothing in a delivery says what they give.
UNGUESSABLE_EVENTS = {"服务项目": "出生医学证明 and 健康体检 are words of no rule"}


def _tags_given(entry: ColumnReading) -> set[str]:
    """The tags of the shipped rules that an events:/tags: entry gives."""
    tag = getattr(entry, "tag", None)
    if tag is not None:
        return {tag}
    given = {getattr(entry, "event_type", None)}
    if isinstance(entry.values, dict):
        given |= set(entry.values.values())
    return {r.id for r in load_rules().tags if r.event and given & set(r.event)}


@pytest.fixture(scope="module")
def sample(copy_city: Callable[..., Path]) -> Path:
    return copy_city(snapshots=False)


def _files(project: Project, source: SourceConfig) -> frozenset[Path]:
    return frozenset(p.resolve() for p in source_files(project, source))


def _layers(project: Project) -> dict[str, LayerConfig]:
    """Every layer of a project by its resolved path, divisions included."""
    space = project.config.space
    others = (space.grids, space.buildings, space.roads, space.facilities, space.rooms)
    layers: list[LayerConfig] = [*space.divisions, *(x for x in others if x is not None)]
    return {project.path(x.path).resolve(): x for x in layers}


def _unused_files(sample: Project, folder: Path, shape: Project) -> list[Path]:
    """What the sample delivers for parts the shape leaves out, if the writer left any.

    A delivery without a part (or with buildings as points only) has no file of it.
    """
    used = {p for s in shape.config.sources for p in _files(shape, s)} | set(_layers(shape))
    delivered = [folder / p.relative_to(sample.root) for s in sample.config.sources
                 for p in source_files(sample, s)]  # fmt: skip
    delivered += [folder / p.relative_to(sample.root.resolve()) for p in _layers(sample)]
    return [p for p in delivered if p.exists() and p.resolve() not in used]


def _last_part(column: str) -> str:
    return column.rsplit(SEPARATOR, 1)[-1]


def _data_row(source: SourceConfig, files: frozenset[Path]) -> int | None:
    """The row a source's data starts at (None for Parquet, which has no header rows)."""
    if all(p.suffix == ".parquet" for p in files):
        return None
    return source.skip_rows + source.header_rows


def _check_source(
    want: SourceConfig, shape: Project, guessed: Project, guess: ProjectGuess
) -> None:
    files = _files(shape, want)
    mine = [s for s in guessed.config.sources if _files(guessed, s) == files]
    assert len(mine) == 1, (want.name, "no guessed source has its files")
    (got,) = mine
    assert got.kind == want.kind, want.name
    assert _data_row(got, files) == _data_row(want, files), (want.name, "header rows")
    for field, column in want.columns.items():
        assert field in got.columns, (want.name, field, column)
        assert _last_part(got.columns[field]) == _last_part(column), (want.name, field)
    # A file with a column per programme instead of an event type: each such column is
    # read for the events that give the same tags, except where nothing in the delivery
    # ties it to a portrait rule.
    guessed_events = {_last_part(e.column): e for e in [*got.events, *got.tags]}
    for entry in [*want.events, *want.tags]:
        column = _last_part(entry.column)
        found = guessed_events.get(column)
        if column in UNGUESSABLE_EVENTS:
            continue
        assert found is not None, (want.name, column, "not read for events")
        assert _tags_given(found) & _tags_given(entry), (want.name, column)


def _crs(project: Project, layer: LayerConfig) -> str | None:
    """The CRS a layer is read in: its ``crs:``, else what its file states."""
    if layer.crs is not None:
        return layer.crs
    path = project.path(layer.path)
    if path.suffix.lower() in (".csv", ".xlsx", ".parquet"):
        return None
    crs = pyogrio.read_info(path).get("crs")
    return None if crs is None else str(crs)


def _same_crs(a: str | None, b: str | None) -> bool:
    """One CRS: offsets by name; lon/lat of WGS84 and CGCS2000 are one to popbase."""
    if a is None or b is None or offset_crs_name(a) or offset_crs_name(b):
        return a == b or (offset_crs_name(a) or a) == (offset_crs_name(b) or b)
    x, y = pyproj.CRS.from_user_input(a), pyproj.CRS.from_user_input(b)
    return (x.is_geographic and y.is_geographic) or x.equals(y, ignore_axis_order=True)


def _check_layer(
    want: LayerConfig, shape: Project, guessed: Project, guess: ProjectGuess, to_check: list[str]
) -> None:
    path = shape.path(want.path).resolve()
    mine = _layers(guessed)
    assert path in mine, (str(want.path), "not among the guessed layers")
    got = mine[path]
    assert type(got) is type(want), str(want.path)
    for field, column in want.fields.items():
        assert got.fields.get(field) == column, (str(want.path), field)
    if isinstance(want, DivisionLayerConfig) and want.level is not None:
        assert isinstance(got, DivisionLayerConfig)
        assert got.level is not None and level_of_word(got.level) == level_of_word(want.level)
    wanted, found = _crs(shape, want), _crs(guessed, got)
    if _same_crs(wanted, found):
        return
    # What init cannot know: an internet-map offset no name says, that the delivery's
    # layers of known CRS cannot tell (too few features near their edges).
    (placed,) = [x for x in [*guess.divisions, *guess.layers.values()] if x.head.path == path]
    assert offset_crs_name(wanted) and offset_hint(str(want.path)) is None, (str(want.path), found)
    assert not placed.crs.sure, (str(want.path), "a wrong CRS confirmed")
    assert any(path.name in line and "internet map" in line for line in to_check)


@pytest.mark.parametrize("text", ALL_SHAPES)
def test_init_guesses_what_each_shape_maps(text: str, sample: Path, tmp_path: Path) -> None:
    folder = tmp_path / "city"
    written = write_shape(sample, folder, Shape.parse(text))
    shape = load_project(folder)
    assert _unused_files(load_project(sample), folder, shape) == []
    written.unlink()

    path, guess, summary = init_project(folder, [])
    guessed = load_project(folder)
    # Every mark the summary lists is in the file, and every CHECK there is listed.
    assert path.read_text(encoding="utf-8").count(f"— {CHECK}") == len(summary.to_check)

    assert guessed.config.project.region_code == shape.config.project.region_code
    for source in shape.config.sources:
        _check_source(source, shape, guessed, guess)
    for layer in _layers(shape).values():
        _check_layer(layer, shape, guessed, guess, summary.to_check)
    # The sample's ground truth sits in the folder; init says it did not read it.
    truth = (folder / "truth").resolve()
    assert not any(f.is_relative_to(truth) for s in guessed.config.sources
                   for f in _files(guessed, s))  # fmt: skip
    assert any(line.startswith("truth: not read") for line in summary.left_out)
