"""A room's id: its building's id and its room number, made in one place.

``3101120000001-301`` is room 301 of building ``3101120000001``. The housing table's
rooms, the rooms rebuilt from residents' addresses and a basemap's rooms layer without ids
of its own all get their ids here, so that a room told by two of them is one room.
"""

from __future__ import annotations

import pandas as pd

# Between the building's id and the room number (building ids hold no dash of their own
# that matters: the number is read after the last one).
SEPARATOR = "-"


def room_ids(buildings: pd.Series, numbers: pd.Series) -> pd.Series:
    """Room ids of ``buildings`` and room ``numbers``, None where either is missing.

    Examples
    --------
    >>> room_ids(pd.Series(["B1", "B2", None]), pd.Series(["301", None, "5"])).tolist()
    ['B1-301', None, None]
    """
    made = buildings.astype(object) + SEPARATOR + numbers.astype(object)
    return made.where(buildings.notna() & numbers.notna(), None).astype(object)


def room_numbers(ids: pd.Series) -> pd.Series:
    """The room number of each room id (after the last separator).

    >>> room_numbers(pd.Series(["B1-301", "3101-7-2"])).tolist()
    ['301', '2']
    """
    return ids.str.rsplit(SEPARATOR, n=1).str[1]
