"""Names for the sample city: people, roads, compounds and enterprises.

Vectorised draws from weighted character lists. Surname weights follow the published
ranking of Chinese surnames roughly (王, 李, 张, 刘, 陈 … each a few percent); given names
are one or two characters from common name characters, with a small share of rare
characters (𠮷, 彧, 喆) that real systems must keep intact; minority names use the middle
dot (阿依古丽·买买提).
"""

from __future__ import annotations

import numpy as np

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
    "向汤"
)
# Zipf-like weights: the first surnames are far more common.
_SURNAME_WEIGHTS = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.9
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "慕容")

GIVEN_MALE = (
    "伟强军磊勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林晨昊天"
    "文博瑞子轩浩然一鸣志远建国建华国庆德明"
)
GIVEN_FEMALE = (
    "芳娜敏静丽艳娟霞秀英华玲梅琳雪慧婷倩颖洁萍红燕琴晶欣怡佳雨涵梓萱诗悦可馨思彤子涵美玉秀兰桂英凤"
)
RARE_GIVEN = "𠮷彧喆昇珺曌堃淼犇祎"

MINORITY_FIRST = (
    "阿依古丽",
    "买买提",
    "古丽",
    "艾力",
    "热依拉",
    "扎西",
    "卓玛",
    "巴特尔",
    "其其格",
    "努尔",
)
MINORITY_LAST = ("买买提", "艾合买提", "吐尔逊", "多吉", "次仁", "那顺", "阿不都", "热合曼")
ETHNIC_MINORITIES = (
    "回族",
    "满族",
    "蒙古族",
    "维吾尔族",
    "藏族",
    "壮族",
    "朝鲜族",
    "土家族",
    "苗族",
)
# Groups whose names are usually written as given name · family name.
DOTTED_ETHNICITIES = frozenset({"维吾尔族", "藏族", "蒙古族"})

ROAD_FIRST = (
    "七莘沪闵虹梅莲花古美平吉航华春申银都剑川龙吴浦星金都东川永德华漕纪翟北翟申长新镇合川万源顾戴田林"
    "宜山吴中红松景洪漕宝莘松疏影中春"
)
ROAD_SUFFIX_WEIGHTS = {"路": 0.72, "支路": 0.08, "大道": 0.08, "公路": 0.12}
COMPOUND_SUFFIX = ("新村", "小区", "花园", "公寓", "苑", "家园", "城", "名邸", "雅苑", "华庭")
ENTERPRISE_WORDS = (
    "科技",
    "信息技术",
    "贸易",
    "实业",
    "电子",
    "医药",
    "餐饮管理",
    "建筑工程",
    "物流",
    "文化传媒",
    "机械设备",
    "教育科技",
    "商务咨询",
    "环保科技",
    "物业管理",
    "网络科技",
    "新材料",
    "食品",
)
ENTERPRISE_FORM = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")
VILLAGE_SYLLABLES = "永新联民红光丰胜利华建同心友谊金星向阳和平东风曙光群益立新跃进"


def person_names(
    sexes: np.ndarray,
    ethnicities: np.ndarray,
    rng: np.random.Generator,
    *,
    rare_share: float = 0.002,
) -> np.ndarray:
    """Draw one name per person.

    Parameters
    ----------
    sexes
        ``"M"``/``"F"`` per person.
    ethnicities
        Ethnic group per person (``"汉族"`` or a minority).
    rng
        Random generator.
    rare_share
        Share of given-name characters replaced by rare characters outside the basic
        multilingual plane or uncommon in fonts.

    Returns
    -------
    numpy.ndarray
        Object array of names.
    """
    n = len(sexes)
    surnames = np.array(list(SURNAMES), dtype=object)[
        rng.choice(len(SURNAMES), n, p=_SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum())
    ]
    compound = rng.random(n) < 0.003
    surnames[compound] = np.array(COMPOUND_SURNAMES, dtype=object)[
        rng.integers(0, len(COMPOUND_SURNAMES), compound.sum())
    ]
    male = np.array(list(GIVEN_MALE), dtype=object)
    female = np.array(list(GIVEN_FEMALE), dtype=object)
    is_m = sexes == "M"
    c1 = np.where(
        is_m, male[rng.integers(0, len(male), n)], female[rng.integers(0, len(female), n)]
    )
    c2 = np.where(
        is_m, male[rng.integers(0, len(male), n)], female[rng.integers(0, len(female), n)]
    )
    rare = rng.random(n) < rare_share
    c2[rare] = np.array(list(RARE_GIVEN), dtype=object)[
        rng.integers(0, len(RARE_GIVEN), rare.sum())
    ]
    two = rng.random(n) < 0.7
    names = surnames + c1 + np.where(two, c2, "")
    dotted = np.isin(ethnicities, list(DOTTED_ETHNICITIES))
    k = int(dotted.sum())
    if k:
        first = np.array(MINORITY_FIRST, dtype=object)[rng.integers(0, len(MINORITY_FIRST), k)]
        last = np.array(MINORITY_LAST, dtype=object)[rng.integers(0, len(MINORITY_LAST), k)]
        names[dotted] = first + "·" + last
    return names


def road_names(n: int, rng: np.random.Generator) -> list[str]:
    """Draw ``n`` distinct road names (路, 支路, 大道, 公路)."""
    chars = list(ROAD_FIRST)
    suffixes = list(ROAD_SUFFIX_WEIGHTS)
    weights = np.array(list(ROAD_SUFFIX_WEIGHTS.values()))
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        stem = "".join(rng.choice(chars, 2))
        if stem[0] == stem[1]:
            continue
        suffix = suffixes[rng.choice(len(suffixes), p=weights / weights.sum())]
        name = stem + suffix
        # A 支路 needs no separate stem; avoid names that are prefixes of each other.
        if name in seen or stem in {s[:2] for s in seen}:
            continue
        seen.add(name)
        out.append(name)
    return out


def compound_name(road: str, rng: np.random.Generator) -> str:
    """A residential compound (小区) name, often taken from its road."""
    stem = road[:2] if rng.random() < 0.6 else "".join(rng.choice(list(ROAD_FIRST), 2))
    return stem + str(rng.choice(COMPOUND_SUFFIX))


def village_name(rng: np.random.Generator) -> str:
    """A village (村) name."""
    return "".join(rng.choice(list(VILLAGE_SYLLABLES), 2)) + "村"


def enterprise_names(n: int, district: str, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` enterprise names like 上海七莘科技有限公司 (unique)."""
    stems = np.array(list(ROAD_FIRST + GIVEN_MALE), dtype=object)
    a = stems[rng.integers(0, len(stems), n)] + stems[rng.integers(0, len(stems), n)]
    words = np.array(ENTERPRISE_WORDS, dtype=object)[rng.integers(0, len(ENTERPRISE_WORDS), n)]
    forms = np.array(ENTERPRISE_FORM, dtype=object)[rng.integers(0, len(ENTERPRISE_FORM), n)]
    names = "上海" + a + words + forms
    # Registration forbids duplicates: lengthen repeated names by a character until unique.
    while True:
        _, first = np.unique(names, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            return np.asarray(names)
        a[dup] = a[dup] + stems[rng.integers(0, len(stems), int(dup.sum()))]
        names[dup] = "上海" + a[dup] + words[dup] + forms[dup]
