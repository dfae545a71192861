"""Which department delivered a source: its name, department and trust priority.

A delivery's file name, its folder, a workbook's sheet name or a ledger's title say
where it comes from: 公安户籍.csv, 居委台账/, 卫健_慢病.xlsx, ``social_security.csv``.
Each entry of :data:`DEPARTMENTS` lists such words (Chinese and English) with the source
name popbase suggests, the department and a default trust priority. The longest word
found wins (养老保险 is social security, 养老 civil affairs).

The default priorities rank how each department comes to know a person's particulars:

=====================  ==========  ========  ==============================================
source name            department  priority  why
=====================  ==========  ========  ==============================================
police_hukou           公安        90        the household register, kept by law
housing                房管        80        the property register (rooms)
enterprise_registry    市场监管    80        the register of market entities
community_ledger       街镇        70        door-to-door visits by community workers
civil_affairs          民政        65        checked when a benefit is granted
health                 卫健        60        recorded when a service is given
social_security        人社        60        employers' declarations
operator_presence      运营商      30        inferred from a phone's night-time location
hotline                12345热线   20        what a caller says, unchecked
signaling              运营商      10        counts, no persons
=====================  ==========  ========  ==============================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

__all__ = ["DEPARTMENTS", "Department", "department_of"]


@dataclass(frozen=True)
class Department:
    """A department whose deliveries popbase knows, and how to recognise them.

    Attributes
    ----------
    name
        The source name suggested (ASCII, as ``sources[].name`` requires).
    department
        The department, as ``sources[].department`` names it.
    kind
        The source kind its deliveries have.
    priority
        The default trust priority.
    why
        Why that priority, for the project file's comment.
    words
        Words in file, folder, sheet or title names that say the department.
    """

    name: str
    department: str
    kind: str
    priority: int
    why: str
    words: tuple[str, ...]


DEPARTMENTS: Final = (
    Department(
        "police_hukou", "公安", "person", 90, "the household register, kept by law",
        ("公安", "户籍", "户政", "派出所", "常住人口登记", "户口", "police", "hukou"),
    ),
    Department(
        "housing", "房管", "room", 80, "the property register",
        ("房屋", "房管", "住建", "不动产", "房产", "房地", "housing", "room", "house"),
    ),
    Department(
        "enterprise_registry", "市场监管", "enterprise", 80, "the register of market entities",
        ("市场监管", "工商", "企业", "法人库", "市场主体", "enterprise", "registry", "company"),
    ),
    Department(
        "community_ledger", "街镇", "person", 70, "door-to-door visits by community workers",
        ("居委", "村委", "社区台账", "台账", "网格员", "走访", "实有人口", "ledger", "community"),
    ),
    Department(
        "civil_affairs", "民政", "person", 65, "checked when a benefit is granted",
        ("民政", "低保", "残疾", "养老", "婚姻", "救助", "殡葬", "civil"),
    ),
    Department(
        "health", "卫健", "person", 60, "recorded when a service is given",
        ("卫健", "卫生", "健康", "医疗", "医院", "家庭医生", "慢病", "妇幼", "疾控", "health",
         "medical"),
    ),
    Department(
        "social_security", "人社", "person", 60, "employers' declarations",
        ("人社", "社保", "参保", "就业", "养老保险", "医保", "social_security", "socialsecurity",
         "insurance", "employment"),
    ),
    Department(
        "operator_presence", "运营商", "person", 30,
        "inferred from a phone's night-time location",
        ("运营商", "夜间常驻", "常驻地", "驻留", "实名", "operator", "night"),
    ),
    Department(
        "hotline", "12345热线", "person", 20, "what a caller says, unchecked",
        ("12345", "热线", "工单", "市民服务", "来电", "hotline"),
    ),
    Department(
        "signaling", "运营商", "signaling", 10, "counts, no persons",
        ("信令", "手机信令", "signaling", "signalling", "signal"),
    ),
)  # fmt: skip

# When nothing in the names says, the kind does for the kinds only one department has.
_BY_KIND: Final = {d.kind: d for d in DEPARTMENTS if d.kind != "person"}
_SPLIT: Final = re.compile(r"[^0-9a-z\u3400-\u9fff]+")


def _found(word: str, text: str) -> bool:
    if not word.isascii():
        return word in text
    # English as whole words, singular or plural ("house" is not in "warehouse"); a
    # snake_case word as written.
    lower = text.lower()
    tokens = {t.removesuffix("s") for t in _SPLIT.split(lower) if t}
    return word in tokens or ("_" in word and word in lower)


def department_of(names: Iterable[str], kind: str) -> tuple[Department | None, str]:
    """The department named by the first of ``names`` that names one, for a source kind.

    Parameters
    ----------
    names
        Texts to look in, the most telling first: the file's name, a ledger's title, the
        sheet's name, then its folders from the nearest.
    kind
        The source kind guessed from the columns: a name saying 企业 does not make a table
        of persons an enterprise register.

    Returns
    -------
    tuple
        The department (``None`` when nothing says) and the word that said it.

    Examples
    --------
    >>> department_of(["公安户籍_2026.csv"], "person")[0].name
    'police_hukou'
    >>> department_of(["社保_养老保险缴费.xlsx"], "person")[0].name
    'social_security'
    >>> department_of(["data.csv"], "enterprise")[0].name
    'enterprise_registry'
    """
    for text in names:
        found = [
            (len(word), -i, d, word)
            for i, d in enumerate(DEPARTMENTS)
            if d.kind == kind
            for word in d.words
            if _found(word, text)
        ]
        if found:
            _, _, best, word = max(found, key=lambda f: (f[0], f[1]))
            return best, word
    by_kind = _BY_KIND.get(kind)
    return by_kind, ""
