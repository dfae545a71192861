"""The dirt of real department records: typos, legacy forms, missing and stale values.

Each function takes clean values and returns them with a given share made dirty the way
it happens in practice, vectorised, with the rate a parameter so every source can have
its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Simplified → traditional for common surname and name characters (some older systems
# and Hong Kong/Taiwan-entered records use traditional forms).
TRADITIONAL = dict(
    zip(
        "陈张刘黄赵吴周孙马郑杨许韩邓冯卢龙叶苏华伟强军杰涛鹏飞丽艳娟红",
        "陳張劉黃趙吳周孫馬鄭楊許韓鄧馮盧龍葉蘇華偉強軍傑濤鵬飛麗艷娟紅",
        strict=True,
    )
)
NAME_HOMOPHONES = dict(
    zip(
        "伟强军磊杰涛明刚平辉鹏华芳娜敏静丽艳娟霞玲梅琳雪慧婷颖洁萍红燕琴晶",
        "玮蔷君垒洁滔铭钢萍晖朋桦方纳敏净莉燕鹃侠琳玫林学惠亭莹杰平宏艳勤静",
        strict=True,
    )
)


def mask(n: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask selecting about ``rate`` of ``n`` rows."""
    return rng.random(n) < rate


def typo_ids(ids: np.ndarray, hit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mistype ID numbers: one digit changed, or two neighbours swapped."""
    out = ids.astype(object).copy()
    for i in np.flatnonzero(hit):
        s = out[i]
        if len(s) != 18:
            continue
        k = int(rng.integers(0, 17))
        if rng.random() < 0.7 or s[k] == s[k + 1]:
            new = str((int(s[k]) + int(rng.integers(1, 10))) % 10)
            out[i] = s[:k] + new + s[k + 1 :]
        else:
            out[i] = s[:k] + s[k + 1] + s[k] + s[k + 2 :]
    return out


def legacy_ids(ids: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """Write 18-digit IDs in the 15-digit form issued before 1999 (no century, no check)."""
    out = ids.astype(object).copy()
    for i in np.flatnonzero(hit):
        s = out[i]
        if len(s) == 18:
            out[i] = s[:6] + s[8:17]
    return out


def dirty_names(
    names: np.ndarray,
    rng: np.random.Generator,
    *,
    spaces: float = 0.005,
    traditional: float = 0.003,
    homophone: float = 0.0,
) -> np.ndarray:
    """Insert spaces, use traditional characters, or a same-sounding character."""
    out = names.astype(object).copy()
    n = len(out)
    for i in np.flatnonzero(mask(n, spaces, rng)):
        name = out[i]
        if len(name) >= 2:
            out[i] = name[0] + (" " if rng.random() < 0.5 else "\u3000") + name[1:]
    table = str.maketrans(TRADITIONAL)
    for i in np.flatnonzero(mask(n, traditional, rng)):
        out[i] = out[i].translate(table)
    for i in np.flatnonzero(mask(n, homophone, rng)):
        name = out[i]
        spots = [k for k in range(1, len(name)) if name[k] in NAME_HOMOPHONES]
        if spots:
            k = spots[int(rng.integers(0, len(spots)))]
            out[i] = name[:k] + NAME_HOMOPHONES[name[k]] + name[k + 1 :]
    return out


_YEARS = np.array([str(y) for y in range(10_000)], dtype=object)
_TWO = np.array([f"{i:02d}" for i in range(32)], dtype=object)
_ONE = np.array([str(i) for i in range(32)], dtype=object)


def format_dates(
    iso: np.ndarray, rng: np.random.Generator, *, styles: dict[str, float]
) -> np.ndarray:
    """Write ISO dates (``YYYY-MM-DD``) in a mix of styles.

    ``styles`` maps a style name to its share: ``iso`` 1990-01-05, ``compact`` 19900105,
    ``slash`` 1990/1/5, ``chinese`` 1990年1月5日. Empty dates stay empty.
    """
    iso = np.asarray(iso, dtype=object)
    out = np.full(len(iso), "", dtype=object)
    have = iso != ""
    if not have.any():
        return out
    d = pd.to_datetime(pd.Series(iso[have]), format="%Y-%m-%d").to_numpy().astype("datetime64[D]")
    month_start = d.astype("datetime64[M]")
    y = _YEARS[d.astype("datetime64[Y]").astype(int) + 1970]
    m = month_start.astype(int) % 12 + 1
    day = (d - month_start).astype(int) + 1

    def write(style: str, k: np.ndarray) -> np.ndarray:
        """The dates at positions ``k`` in one style."""
        if style == "compact":
            return np.asarray(y[k] + _TWO[m[k]] + _TWO[day[k]])
        if style == "slash":
            return np.asarray(y[k] + "/" + _ONE[m[k]] + "/" + _ONE[day[k]])
        if style == "chinese":
            return np.asarray(y[k] + "年" + _ONE[m[k]] + "月" + _ONE[day[k]] + "日")
        return np.asarray(y[k] + "-" + _TWO[m[k]] + "-" + _TWO[day[k]])

    names = list(styles)
    p = np.array([styles[k] for k in names])
    pick = rng.choice(len(names), len(d), p=p / p.sum())
    written = np.empty(len(d), dtype=object)
    for i, name in enumerate(names):
        sel = np.flatnonzero(pick == i)
        written[sel] = write(name, sel)
    out[have] = written
    return out


def format_phones(
    phones: np.ndarray, rng: np.random.Generator, *, messy: float = 0.1
) -> np.ndarray:
    """Write mobile numbers with spaces, dashes or a +86 prefix for a share of rows."""
    out = np.asarray(phones, dtype=object).copy()
    for i in np.flatnonzero(mask(len(out), messy, rng)):
        s = out[i]
        if not s:
            continue
        form = int(rng.integers(0, 3))
        out[i] = (f"{s[:3]} {s[3:7]} {s[7:]}", f"{s[:3]}-{s[3:7]}-{s[7:]}", f"+86 {s}")[form]
    return out


def sex_labels(sex: np.ndarray, rng: np.random.Generator, *, wrong: float = 0.0) -> np.ndarray:
    """男/女 from M/F, with a share mis-entered."""
    flip = mask(len(sex), wrong, rng)
    male = (sex == "M") ^ flip
    return np.where(male, "男", "女")


def shift_dates(iso: np.ndarray, hit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Conflicting dates: a day or a month off."""
    out = np.asarray(iso, dtype=object).copy()
    sel = hit & (out != "")
    shifted = out[sel].astype("datetime64[D]") + rng.choice([-31, -1, 1, 31], int(sel.sum()))
    out[sel] = shifted.astype(str).astype(object)
    return out
