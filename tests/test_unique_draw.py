"""Redrawing duplicated random keys."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from popbase.population._unique_draw import redraw_duplicates


@given(st.integers(0, 2**32 - 1), st.integers(1, 64))
def test_redraw_until_unique(seed: int, space: int) -> None:
    rng = np.random.default_rng(seed)

    def draw(rows: NDArray[np.intp]) -> NDArray[np.int64]:
        return rng.integers(0, space, len(rows), dtype=np.int64)

    first = draw(np.arange(space))
    keys = redraw_duplicates(first, draw)
    # With as many rows as keys, the result is a permutation of the whole key space.
    assert sorted(keys.tolist()) == list(range(space))
    _, first_seen = np.unique(first, return_index=True)
    assert (keys[first_seen] == first[first_seen]).all()  # first occurrences keep their key
