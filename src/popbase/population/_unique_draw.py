"""Drawing random identifiers until all are unique, redrawing only the duplicates."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray


def redraw_duplicates(
    keys: NDArray[np.int64], draw: Callable[[NDArray[np.intp]], NDArray[np.int64]]
) -> NDArray[np.int64]:
    """Redraw the keys that repeat an earlier one until every key is unique.

    Each round touches only the rows still duplicated and checks their new keys against a
    sorted array of the keys already accepted, so a round costs O(duplicates · log n) plus
    one merge; typical inputs settle in a handful of rounds.

    Parameters
    ----------
    keys
        One integer key per row, as first drawn.
    draw
        Draws fresh keys for the given row positions. It must be able to reach a free key
        for every row (the caller checks capacity), or this never ends.

    Returns
    -------
    numpy.ndarray
        The keys, all unique; rows that were unique at first keep their key.
    """
    keys = keys.copy()
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    repeated = np.zeros(len(keys), dtype=bool)
    repeated[1:] = ordered[1:] == ordered[:-1]
    pending = np.sort(order[repeated])
    taken = ordered[~repeated]
    while len(pending):
        fresh = draw(pending)
        at = np.searchsorted(taken, fresh).clip(max=max(len(taken) - 1, 0))
        free = taken[at] != fresh if len(taken) else np.ones(len(fresh), dtype=bool)
        _, first = np.unique(fresh, return_index=True)
        first_seen = np.zeros(len(fresh), dtype=bool)
        first_seen[first] = True
        accepted = free & first_seen
        keys[pending[accepted]] = fresh[accepted]
        new = np.sort(fresh[accepted])
        taken = np.insert(taken, np.searchsorted(taken, new), new)
        pending = pending[~accepted]
    return keys
