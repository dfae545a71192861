"""Normalise a Chinese address, keeping the way back to the original characters.

- NFKC folds full-width forms (１２号 → 12号, （ → ()); latin letters become upper case.
- Traditional characters common in addresses and place names become simplified (號 → 号,
  區 → 区, 閔 → 闵): a curated table, not a general converter, so that no name changes
  meaning.
- Chinese numerals before a unit word become digits: 一千八百八十五弄 → 1885弄,
  三零一室 → 301室, 二〇一室 → 201室, 十二号 → 12号, 三组 → 3组, 二楼 → 2楼; so does a
  numeral that ends the address after a numbered part (567号三零四 → 567号304).
- ``#`` after a number is 号 (3#楼 → 3号楼).
- Dashes of every width become ``-``, kept only after a number or numbered part and
  before a number (12-301, 12号-301, 1-2-301), where they separate parts; a space, ``_``
  or ``/`` between two numbers becomes ``-`` too (35 401 → 35-401). Elsewhere separators
  go: spaces, ``_`` (the corpora's stand-in for a space), dashes between names
  (上海市-市辖区-虹口区), and punctuation other than brackets.
- A doubled city prefix (上海上海市) is left for the parser.

Every normalised character remembers the span of original characters it came from, so a
component found in the normalised text is reported at its place in the original — what
address corpora annotate.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Traditional → simplified, character by character, for address and place-name characters.
_TRADITIONAL = (
    "號區樓門東濱灣滬廣華橋陳張劉黃趙吳孫馬鄭楊許韓鄧馮盧龍葉蘇偉強軍傑濤鵬飛麗艷紅縣鎮鄉莊場園廠廈館層單棟陽陰關開發車運輸貿"
    "藝際進遠達興業豐鳳雲電鐵漢滿營寧蘭長齊魯閩貴萊濟壽臺彎廟廳衛藥醫學實驗護銀億萬匯滙閔靜賢寶閘嶺嶼灘慶陸國義體會風線雙溫紹"
    "瀋遼陝肅內條鄰裡裏間戶組隊經術產幣龜灃黨創貨訊盤聯頭務員淺濕濰鹽滄澤衝紀綠紡織續總縱縫網羅舊藍蘆虛處裝觀訪設試誠謝譚豬貝"
    "財責賣賓購趕跡軒輕農邊鄒釣鋼錦鎖鏈鐘閣闆陣隴隨雜離雞難顏顧飯養駐騰髮鬥魚鮮鳥鳴鴻鵲鶴鹼麥齒岡崗嶽峯巖幹廬廚徑從復徵恆愛態"
    "憑應懷戲擁撫擴攤敗數斷時晉曉書構樂樞標樹橫檢歐歲歷歸氣沖況湯滷漁潛澗濁瀏爐爭牆獅環現瑪畫畢當療盜監礦禮禪穩窯競筆築簡糧約"
    "紗細終結給統絲維綫緣編緯練繡罷習聖聞聲職脈腦膠臨舉艦莖菴葦蓋蓮蔣薑薩蘋蟲蠶補製複親計訂記訴診評詩話誌調請論諸講證識讀變讓"
    "豎貓費賀資賞質賴贈趨軌軸較輔輛轉辦週遊過違適選遺郵醬釋針釘鈴鉅銅銘銷鋒鋪錢錫鍋鍾鏡閃閉閑闊階隱雛雖靈頁項順預領頻題額類顯"
    "颱飲飾驛髒鬧鷹麵齋",
    "号区楼门东滨湾沪广华桥陈张刘黄赵吴孙马郑杨许韩邓冯卢龙叶苏伟强军杰涛鹏飞丽艳红县镇乡庄场园厂厦馆层单栋阳阴关开发车运输贸"
    "艺际进远达兴业丰凤云电铁汉满营宁兰长齐鲁闽贵莱济寿台弯庙厅卫药医学实验护银亿万汇汇闵静贤宝闸岭屿滩庆陆国义体会风线双温绍"
    "沈辽陕肃内条邻里里间户组队经术产币龟沣党创货讯盘联头务员浅湿潍盐沧泽冲纪绿纺织续总纵缝网罗旧蓝芦虚处装观访设试诚谢谭猪贝"
    "财责卖宾购赶迹轩轻农边邹钓钢锦锁链钟阁板阵陇随杂离鸡难颜顾饭养驻腾发斗鱼鲜鸟鸣鸿鹊鹤碱麦齿冈岗岳峰岩干庐厨径从复征恒爱态"
    "凭应怀戏拥抚扩摊败数断时晋晓书构乐枢标树横检欧岁历归气冲况汤卤渔潜涧浊浏炉争墙狮环现玛画毕当疗盗监矿礼禅稳窑竞笔筑简粮约"
    "纱细终结给统丝维线缘编纬练绣罢习圣闻声职脉脑胶临举舰茎庵苇盖莲蒋姜萨苹虫蚕补制复亲计订记诉诊评诗话志调请论诸讲证识读变让"
    "竖猫费贺资赏质赖赠趋轨轴较辅辆转办周游过违适选遗邮酱释针钉铃钜铜铭销锋铺钱锡锅钟镜闪闭闲阔阶隐雏虽灵页项顺预领频题额类显"
    "台饮饰驿脏闹鹰面斋",
)
SIMPLIFY = str.maketrans(*_TRADITIONAL)
# Words that a number precedes in an address.
UNIT_WORDS = (
    "号", "弄", "幢", "栋", "座", "单元", "层", "楼", "室", "户", "组", "队", "大队", "支", "巷",
    "房", "期",
)  # fmt: skip
_NUMERAL_CHARS = "零〇一二两三四五六七八九十百千"
# A numbered alley or branch road is named so (下沙四巷, 经四支路, 丁字沽一号路): after a
# name, a numeral before 巷 or 支, or before 号 and a road's word, stays part of the name.
_NAMED_UNITS = ("巷", "支")
_NAMED_ALT = "|".join(_NAMED_UNITS)
_COUNTED_ALT = "|".join(u for u in UNIT_WORDS if u not in _NAMED_UNITS)
_NUMBERED_ROAD = "路|街|大街|大道|干道|公路"
# After a road's word (and a direction), a numeral before 巷 numbers the alleys off it
# (桂兴西路三巷, 南环路北一巷, which the corpora tag as the road and its subroad).
_ROAD_WORDS = "路街道"
# Ends of a number's unit word: a numeral after one numbers (1885弄三支弄), after a name
# it names.
_NUMBERED_ENDS = "号弄幢栋座楼层室元组队期房户"
_UNITS_ALT = "|".join(UNIT_WORDS)
# Before a unit word; ending the address after one (莲申路567号三零四, 二单元一零四: the
# room); before a dash and a number after a road, a lane or a numbered part (秀山路7弄六-403
# as 7弄6-403 is written, 巨野路三百五十五-二号 as 355-2号, 裙楼五-五层: floors 5 to 5);
# or ending the address after such a dash.
_NUMERAL_RUN = re.compile(
    f"(?:^|(?<=[0-9{_NUMBERED_ENDS}-]))[{_NUMERAL_CHARS}]+(?=(?:{_NAMED_ALT}))"
    f"|[{_NUMERAL_CHARS}]+(?=(?:{_COUNTED_ALT}))(?!号(?:{_NUMBERED_ROAD}))"
    f"|(?:(?<=[{_ROAD_WORDS}])|(?<=[{_ROAD_WORDS}][东南西北中横]))"
    f"[{_NUMERAL_CHARS}]+(?=(?:{_NAMED_ALT}))"
    f"|(?<=[号弄幢栋座楼层室元])[{_NUMERAL_CHARS}]+$"
    f"|(?<=[弄号幢栋座楼{_ROAD_WORDS}])[{_NUMERAL_CHARS}]+(?=-[0-9{_NUMERAL_CHARS}])"
    f"|(?<=[0-9{_NUMERAL_CHARS}号幢栋座]-)[{_NUMERAL_CHARS}]+$"
)
_DIGIT = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_MULTIPLIER = {"十": 10, "百": 100, "千": 1000}
# Separators: dropped, or read as a dash between two numbers.
_SPACES = frozenset(" \t\r\n\u3000_/\\")
_DASHES = frozenset("-－—–―~～")
_PUNCTUATION = frozenset(",，、。.;；:：'\"“”‘’·•!！?？*<>《》「」【】")
_SEPARATORS = _SPACES | _DASHES | _PUNCTUATION
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# One character to one: simplified characters, upper-case latin, full-width forms.
_FOLD = SIMPLIFY | str.maketrans(
    "abcdefghijklmnopqrstuvwxyz" + "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    + unicodedata.normalize("NFKC", "".join(chr(c) for c in range(0xFF01, 0xFF5F))).upper()
    + " ",
)
# Ends of a number (or of a numbered part) that a dash may follow: 12-301, 12号-301.
_NUMBER_END = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ号幢栋座楼单元层室")
_NUMERALS = frozenset(_NUMERAL_CHARS)
# A single dash where the slow path keeps it in place: after a number or numbered part,
# before a number.
_KEPT_DASH = re.compile(r"(?<=[0-9A-Z号幢栋座楼单元层室])-(?=[0-9A-Z])")
# Text that :func:`normalize` may change matches this expression (written for RE2 as well
# as ``re``, to sort whole columns at once); text that does not is its own normal form:
# Chinese characters, digits and dashes between numbers only, no traditional character,
# no Chinese numeral before a unit word or ending the text after a numbered part.
NEEDS_NORMALIZING = (
    f"[^一-鿿0-9-]|[{_TRADITIONAL[0]}]|[{_NUMERAL_CHARS}]+(?:{_UNITS_ALT})"
    f"|[号弄幢栋座楼层室元][{_NUMERAL_CHARS}]+$|(?:^|[^0-9号幢栋座楼单元层室])-|-(?:[^0-9]|$)"
)
# Characters whose presence sends a text down the slow path (its positions change).
_SPECIAL = re.compile(f"[^\\u4e00-\\u9fffA-Z0-9()]|[{_TRADITIONAL[0]}]")


def chinese_to_int(text: str) -> int | None:
    """Read a Chinese numeral: 一千八百八十五 → 1885, 三零一 → 301, 十二 → 12, 两 → 2.

    A run of digit characters only is read digit by digit (三零一 → 301, 二〇一 → 201), as
    people write room numbers; otherwise 十/百/千 multiply. None when it is no numeral.

    Examples
    --------
    >>> [chinese_to_int(t) for t in ("一千八百八十五", "三零一", "十二", "二十", "一百零五", "〇")]
    [1885, 301, 12, 20, 105, 0]
    """
    if not text:
        return None
    if all(c in _DIGIT for c in text):
        return int("".join(str(_DIGIT[c]) for c in text))
    total, current, last_multiplier = 0, 0, 10_000
    for c in text:
        if c in _DIGIT:
            current = _DIGIT[c]
        elif c in _MULTIPLIER:
            multiplier = _MULTIPLIER[c]
            if multiplier >= last_multiplier:
                return None  # 十百, 百百: not a numeral
            total += (current or 1) * multiplier
            current, last_multiplier = 0, multiplier
        else:
            return None
    return total + current


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised address and, per normalised character, its original span.

    Attributes
    ----------
    text
        The address as given.
    norm
        Its normalised form.
    starts, ends
        Per character of ``norm``, the span of ``text`` it came from; None when the
        two texts line up character by character.
    """

    text: str
    norm: str
    starts: tuple[int, ...] | None
    ends: tuple[int, ...] | None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that normalised ``[start, end)`` came from."""
        if self.starts is None or self.ends is None:
            return start, end
        if start >= end:
            at = self.starts[start] if start < len(self.starts) else len(self.text)
            return at, at
        return self.starts[start], self.ends[end - 1]


def _nfkc(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).translate(_FOLD)


def _fold(text: str) -> tuple[list[str], list[int], list[int]]:
    """Characters after NFKC, simplification and separator rules, with their spans."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    gap = False  # a separator was dropped since the last kept character
    dash = -1  # ... and where the last dash (or space) among them was
    real_dash = False  # ... and whether it was a dash
    for i, ch in enumerate(text.translate(_FOLD)):
        # Only characters outside ASCII and the CJK block may change under NFKC.
        folded = ch if ch < "\x80" or "\u4e00" <= ch <= "\u9fff" else _nfkc(ch)
        for c in folded:
            if c in _SEPARATORS:
                gap = True
                if c in _DASHES:
                    dash, real_dash = i, True
                elif c in _SPACES and not real_dash:
                    dash = i
                continue
            if c == "#":
                if chars and (chars[-1].isdigit() or chars[-1] in _NUMERAL_CHARS):
                    c = "号"
                else:
                    gap = True
                    continue
            # A dash after a number or numbered part (12号-301), a space between numbers.
            after = _NUMBER_END | _NUMERALS if real_dash else _ALNUM
            if (
                gap
                and dash >= 0
                and chars
                and chars[-1] in after
                and ((c.isascii() and c.isalnum()) or c in _NUMERAL_CHARS)
            ):
                chars.append("-")
                starts.append(dash)
                ends.append(dash + 1)
            gap, dash, real_dash = False, -1, False
            chars.append(c)
            starts.append(i)
            ends.append(i + 1)
    return chars, starts, ends


def _numerals(norm: str, starts: list[int], ends: list[int]) -> tuple[str, list[int], list[int]]:
    """Chinese numerals before unit words (or ending the address) as digits."""
    pieces: list[tuple[str, int, int]] = []
    last = 0
    for m in _NUMERAL_RUN.finditer(norm):
        run = m.group()
        digits = _digits_of(run)
        if digits == run:
            continue  # no numeral (十百)
        pieces.append((norm[last : m.start()], last, m.start()))
        pieces.append((digits, m.start(), m.end()))
        last = m.end()
    if not pieces:
        return norm, starts, ends
    pieces.append((norm[last:], last, len(norm)))
    out_starts: list[int] = []
    out_ends: list[int] = []
    for piece, a, b in pieces:
        if piece == norm[a:b] or len(piece) == b - a:
            # Unchanged text, or digits written one by one: character for character.
            out_starts.extend(starts[a:b])
            out_ends.extend(ends[a:b])
        else:
            # Every digit of a numeral with 十/百/千 maps to the numeral's whole span.
            out_starts.extend([starts[a]] * len(piece))
            out_ends.extend([ends[b - 1]] * len(piece))
    return "".join(p for p, _, _ in pieces), out_starts, out_ends


def normalize(text: str) -> Normalized:
    """Normalise an address (see the module docstring).

    Examples
    --------
    >>> normalize("上海市 七莘路一千八百八十五弄１２#  三零一室").norm
    '上海市七莘路1885弄12号301室'
    >>> n = normalize("七莘路十二号"); n.norm, n.original_span(3, 6)
    ('七莘路12号', (3, 6))
    >>> normalize("上海市-市辖区-闵行区七莘路1885弄12号楼 301 -302").norm
    '上海市市辖区闵行区七莘路1885弄12号楼301-302'
    """
    if not _SPECIAL.search(text) and not _NUMERAL_RUN.search(text):
        return Normalized(text, text, None, None)
    # Full-width forms, traditional characters, lower case and dashes between numbers
    # (12-301) change no position: fold them in one step when nothing else needs doing.
    folded = text.translate(_FOLD)
    if not _SPECIAL.search(_KEPT_DASH.sub("", folded)) and not _NUMERAL_RUN.search(folded):
        return Normalized(text, folded, None, None)
    chars, starts, ends = _fold(text)
    norm, starts, ends = _numerals("".join(chars), starts, ends)
    if norm == text:
        return Normalized(text, text, None, None)
    return Normalized(text, norm, tuple(starts), tuple(ends))


def _digits_of_run(m: re.Match[str]) -> str:
    """A run of Chinese numerals as :func:`_numerals` writes it (itself if no numeral)."""
    return _digits_of(m.group())


@lru_cache(maxsize=4096)
def _digits_of(run: str) -> str:
    """Digits of a numeral run: one by one (三零一 → 301, 零一 → 01), else by value."""
    if all(c in _DIGIT for c in run):
        return "".join(str(_DIGIT[c]) for c in run)
    value = chinese_to_int(run)
    return run if value is None else str(value)


def normal_form(text: str) -> str:
    """``normalize(text).norm`` without the spans, for columns of addresses.

    Most texts that need normalising need only folding (full width, traditional
    characters) and numerals, which change no position but a numeral's: they are done
    on the string at once.

    Examples
    --------
    >>> normal_form("七莘路一千八百八十五弄１２號三零一室")
    '七莘路1885弄12号301室'
    """
    folded = text.translate(_FOLD)
    if not _SPECIAL.search(_KEPT_DASH.sub("", folded)):
        return _NUMERAL_RUN.sub(_digits_of_run, folded)
    return normalize(text).norm
