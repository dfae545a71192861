"""Disclosure control of small counts: primary and complementary cell suppression.

Aggregates of small units served to department roles must not single anyone out. A cell
counting 1 to :data:`SMALLEST_SHOWN` - 1 persons (1–10) is suppressed (primary). A lone
suppressed cell could then be worked out from what is shown — its siblings and their
parent's total, or the other measures of its row where one measure is the sum of
others — so more cells are suppressed (complementary) until, in every group of siblings
and every additive row relation, either no cell is suppressed or at least two are and
together they hold more than ten persons. Zeros stay shown: an empty cell singles no
one out. Suppressed cells are returned as None.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import pandas as pd

# Counts from 1 up to this value are suppressed.
SMALLEST_SHOWN = 11
LARGEST_SUPPRESSED = SMALLEST_SHOWN - 1


def _cover(values: pd.Series, hidden: pd.Series) -> Hashable | None:
    """Index label of the cell to suppress next so the hidden cells stop being derivable.

    None when the group is safe: nothing hidden, or two or more hidden cells that hold
    more than :data:`LARGEST_SUPPRESSED` persons together.
    """
    n_hidden = int(hidden.sum())
    if n_hidden == 0:
        return None
    if n_hidden >= 2 and values[hidden].sum() > LARGEST_SUPPRESSED:
        return None
    candidates = values[~hidden & (values > 0)]
    if candidates.empty:
        return None  # everything that counts anyone is hidden already
    return candidates.idxmin()


def suppress(
    table: pd.DataFrame,
    group: str,
    measures: Sequence[str],
    relations: Sequence[tuple[str, Sequence[str]]] = (),
) -> pd.DataFrame:
    """Suppress small counts in ``measures``, with complementary suppression.

    Parameters
    ----------
    table
        One row per unit; ``group`` names the column whose equal values make siblings
        (the parent's code). Its index must be unique.
    group
        Siblings column.
    measures
        Count columns to protect.
    relations
        Row relations ``(total, parts)`` where ``total`` = sum of ``parts`` (e.g.
        ``("resident", ["usual_resident", "floating"])``).

    Returns
    -------
    pandas.DataFrame
        ``table`` with suppressed cells set to None (counts as nullable integers).

    Examples
    --------
    >>> t = pd.DataFrame({"parent": ["s"] * 3, "resident": [5, 40, 60]}, index=["a", "b", "c"])
    >>> suppress(t, "parent", ["resident"])["resident"].tolist()
    [<NA>, <NA>, 60]
    """
    values = table[list(measures)].astype("int64")
    hidden = (values >= 1) & (values <= LARGEST_SUPPRESSED)
    changed = True
    while changed:
        changed = False
        for measure in measures:
            for _, idx in table.groupby(group, sort=False).groups.items():
                cell = _cover(values.loc[idx, measure], hidden.loc[idx, measure])
                if cell is not None:
                    hidden.loc[cell, measure] = True
                    changed = True
        for total, parts in relations:
            cols = [total, *parts]
            for label in hidden.index[hidden[cols].any(axis=1)]:
                row_hidden = hidden.loc[label, cols]
                cell = _cover(values.loc[label, cols], row_hidden)
                if cell is not None:
                    hidden.loc[label, cell] = True
                    changed = True
    out = table.copy()
    for measure in measures:
        out[measure] = values[measure].astype("Int64").mask(hidden[measure])
    return out
