"""Value fields of basemap layers read into canonical text, what cannot be read counted.

The space stage reads a building's ``use`` through the vocabulary (住宅 → ``residential``)
and its ``floors`` as a number (12层 → 12), and a facility's ``capacity``; a value it
cannot read becomes missing and is summarised per layer and field (stage ``space``, see
:mod:`popbase.values.unreadable`).
"""

from __future__ import annotations

from typing import Any, Final

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from popbase.values.reading import text_array
from popbase.values.records import read_field
from popbase.values.unreadable import EXAMPLES, summarise
from popbase.values.vocabulary import Vocabulary

__all__ = ["LAYER_READERS", "read_feature_values", "read_layer_values"]

# Per basemap layer, the reader of each value field the space stage reads.
LAYER_READERS: Final[dict[str, dict[str, str]]] = {
    "buildings": {"use": "building_use", "floors": "floors"},
    "facilities": {"capacity": "number"},
}


def read_feature_values(
    layer: str,
    field: str,
    reader: str,
    features: pa.Array,
    values: pa.Array,
    vocabulary: Vocabulary,
) -> tuple[pa.Array, list[dict[str, Any]]]:
    """Read one field of a basemap layer's features; summarise what cannot be read.

    Parameters
    ----------
    layer, field
        Names for the summary (``buildings``, ``use``).
    reader
        See :data:`FIELD_READERS` (``building_use`` for a building's use).
    features, values
        Each feature's name (its key) and its delivered value.

    Returns
    -------
    tuple
        The canonical values, and a summary list (empty or one entry, stage ``space``).

    Examples
    --------
    >>> from popbase.values.vocabulary import load_vocabulary
    >>> uses, bad = read_feature_values("buildings", "use", "building_use",
    ...     pa.array(["b1", "b2", "b3"]), pa.array(["住宅", "祠堂", "商住"]), load_vocabulary())
    >>> uses.to_pylist(), bad[0]["unreadable"], bad[0]["examples"]
    (['residential', None, 'mixed'], 1, [{'value': '祠堂', 'rows': 1, 'first': 'b2'}])
    """
    reading = read_field(reader, values, vocabulary)
    bad = pa.table(
        {
            "source": pa.array([layer] * len(values), pa.string()),
            "raw": values,
            "first": features.cast(pa.string()),
        }
    ).filter(reading.unreadable)
    if bad.num_rows == 0:
        return reading.values, []
    counted = bad.group_by(["source", "raw"], use_threads=False).aggregate(
        [("raw", "count"), ("first", "first")]
    )
    rows = sorted(counted.to_pylist(), key=lambda r: (-r["raw_count"], r["raw"]))[:EXAMPLES]
    examples = [
        {
            "source": layer,
            "raw": r["raw"],
            "n": r["raw_count"],
            "first": r["first_first"],
            "unreadable": bad.num_rows,
        }
        for r in rows
    ]
    present = int(pc.sum(pc.is_valid(values)).as_py() or 0)
    return reading.values, summarise("space", field, {layer: present}, examples)


def read_layer_values(
    layer: str, features: pd.DataFrame, key: str, vocabulary: Vocabulary
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The value fields of a basemap layer (:data:`LAYER_READERS`) read into canonical text.

    Parameters
    ----------
    layer
        ``buildings`` or ``facilities``.
    features
        The layer's features, with their key column ``key`` and fields as delivered.

    Returns
    -------
    tuple
        ``features`` with each read field replaced by its canonical text (missing where
        unreadable), and one summary per field with unreadable values.
    """
    out = features.copy()
    summaries: list[dict[str, Any]] = []
    names = text_array(features[key])
    for field, reader in LAYER_READERS.get(layer, {}).items():
        if field not in features:
            continue
        values = text_array(features[field])
        read, summary = read_feature_values(layer, field, reader, names, values, vocabulary)
        out[field] = read.to_pandas().to_numpy(dtype=object)
        summaries += summary
    return out, summaries
