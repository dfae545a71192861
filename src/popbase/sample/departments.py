"""Person records as each department delivers them, with that department's dirt.

Each function takes the true people of one street and returns the department's rows:
its own column names (Chinese, as delivered) plus hidden truth columns ``_person_id``
(who the row is about) and ``_room_id`` (the room its address refers to), which the
writer moves into ``truth/records.parquet`` before the file is written.

The rates written here are each source's base rates; a :class:`DirtProfile` (``popbase
sample --dirt``) scales them and adds habits the default city lacks
(:mod:`popbase.sample.profiles`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

from popbase.sample.addresses import AddressStyle
from popbase.sample.dirt import (
    dirty_names,
    format_dates,
    format_phones,
    legacy_ids,
    mask,
    sex_labels,
    shift_dates,
    typo_ids,
)
from popbase.sample.profiles import DEFAULT, DirtProfile
from popbase.sample.residence import RESIDENCY_LABELS
from popbase.space.crs import transformer

AddressWriter = Callable[[np.ndarray, AddressStyle], np.ndarray]

LEDGER_STYLE = AddressStyle(
    no_city=0.45,
    no_district=0.45,
    with_town=0.05,
    dash_room=0.10,
    building_word=0.08,
    no_room_suffix=0.08,
    chinese_numerals=0.03,
    full_width=0.03,
    spaces=0.04,
    homophone=0.015,
)
HEALTH_STYLE = AddressStyle(
    no_city=0.3,
    no_district=0.2,
    dash_room=0.06,
    building_word=0.05,
    chinese_numerals=0.02,
    full_width=0.02,
    spaces=0.02,
    homophone=0.01,
)
HOTLINE_STYLE = AddressStyle(
    no_city=0.7,
    no_district=0.6,
    with_town=0.15,
    dash_room=0.2,
    building_word=0.12,
    no_room_suffix=0.15,
    chinese_numerals=0.06,
    full_width=0.05,
    spaces=0.08,
    homophone=0.03,
)
POLICE_STYLE = AddressStyle(
    no_city=0.0,
    no_district=0.0,
    with_town=0.3,
    doubled_city=0.005,
    dash_room=0.0,
    building_word=0.0,
    no_room_suffix=0.0,
    chinese_numerals=0.01,
    full_width=0.02,
    spaces=0.0,
    homophone=0.002,
)


def _record_numbers(prefix: str, street: str, n: int) -> np.ndarray:
    return np.array([f"{prefix}{street}{i:07d}" for i in range(1, n + 1)], dtype=object)


def _with_duplicates(df: pd.DataFrame, rate: float, rng: np.random.Generator) -> pd.DataFrame:
    """Append exact copies of a share of rows, as repeated exports produce."""
    dup = df[mask(len(df), rate, rng)]
    return pd.concat([df, dup]).sort_index(kind="stable").reset_index(drop=True)


def _blank(values: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Leave a share of values empty, as forms with optional fields do."""
    out = np.asarray(values, dtype=object)
    if rate <= 0:
        return out
    return np.where(mask(len(out), rate, rng), "", out)


def _ids(
    p: pd.DataFrame,
    rng: np.random.Generator,
    dirt: DirtProfile,
    *,
    typo: float,
    missing: float,
    legacy: float,
    lower_x: float = 0.01,
) -> np.ndarray:
    typo, missing, legacy = dirt.id(typo), dirt.id(missing), dirt.id(legacy)
    ids = p["id_number"].to_numpy().astype(object)
    old = p["birth_date"].to_numpy(dtype=object) < "1980"
    ids = legacy_ids(ids, mask(len(p), legacy, rng) & old)
    ids = typo_ids(ids, mask(len(p), typo, rng), rng)
    for i in np.flatnonzero(mask(len(p), lower_x, rng)):
        ids[i] = ids[i].lower()
    return np.where(mask(len(p), missing, rng), "", ids)


def police_register(
    p: pd.DataFrame,
    street: str,
    hukou_no: dict[str, str],
    write: AddressWriter,
    rng: np.random.Generator,
    dirt: DirtProfile = DEFAULT,
) -> pd.DataFrame:
    """Police household register (公安户籍): everyone whose hukou is in the district."""
    p = p[(p["hukou_room_id"] != "") & (p["presence"] != "moved_out")]
    n = len(p)
    # A death not yet cancelled in the register is a stale row.
    marked = 1.0 - dirt.kept(0.2)
    status = np.where(
        (p["presence"] == "deceased").to_numpy() & mask(n, marked, rng), "死亡", "正常"
    )
    ids = _ids(p, rng, dirt, typo=0.001, missing=0.0, legacy=0.02)
    df = pd.DataFrame(
        {
            "记录号": _record_numbers("GA", street, n),
            "公民身份号码": ids,
            "姓名": dirty_names(
                p["name"].to_numpy(),
                rng,
                spaces=dirt.typo(0.001),
                traditional=dirt.typo(0.002),
            ),
            "性别": sex_labels(p["sex"].to_numpy(), rng),
            "民族": p["ethnicity"].to_numpy(),
            "出生日期": format_dates(p["birth_date"].to_numpy(), rng, styles={"compact": 1.0}),
            "户号": [hukou_no[r] for r in p["hukou_room_id"]],
            "与户主关系": np.where(p["origin"] == "same_district", "其他", p["relation"]),
            "户籍地址": write(p["hukou_room_id"].to_numpy(), dirt.style(POLICE_STYLE)),
            "户籍迁入日期": format_dates(
                p["residence_since"].to_numpy(), rng, styles={"compact": 1.0}
            ),
            "人员状态": status,
            "_person_id": p["person_id"].to_numpy(),
            "_room_id": p["hukou_room_id"].to_numpy(),
            "_address_kind": "hukou",
        },
        dtype=object,
    )
    return _with_duplicates(df, 0.003, rng)


def community_ledger(
    p: pd.DataFrame,
    street: str,
    community_names: dict[str, str],
    write: AddressWriter,
    as_of: dt.date,
    rng: np.random.Generator,
    dirt: DirtProfile = DEFAULT,
) -> pd.DataFrame:
    """Community resident ledgers (居委台账): residents, with stale rows of the departed."""
    presence = p["presence"].to_numpy()
    keep = np.where(
        presence == "resident",
        mask(len(p), 0.97, rng),
        np.where(
            presence == "deceased",
            mask(len(p), dirt.kept(0.3), rng),
            np.where(
                presence == "moved_out",
                mask(len(p), dirt.kept(0.4), rng),
                # Committees also keep registered people who live elsewhere (人不在户在).
                np.where(presence == "absent", mask(len(p), 0.5, rng), False),
            ),
        ),
    )
    p = p[keep]
    n = len(p)
    style = dirt.style(LEDGER_STYLE)
    hukou = np.where(
        p["hukou_room_id"] != "",
        write(p["hukou_room_id"].to_numpy(), style),
        p["hukou_text"].to_numpy(),
    )
    # Stale rows keep the status they had while the person still lived here.
    status = p["residency_status"].map(RESIDENCY_LABELS).fillna("").to_numpy()
    was_local = p["origin"].to_numpy() == "local"
    status = np.where(status == "", np.where(was_local, "人在户在", "人在户不在（常住）"), status)
    # People registered here but living elsewhere are listed at their registered home.
    listed_at = np.where(
        p["presence"].to_numpy() == "absent",
        p["hukou_room_id"].to_numpy(),
        p["home_room_id"].to_numpy(),
    ).astype(object)
    # A row without a residence address refers to no room.
    listed_at = _blank(listed_at, dirt.missing_address, rng)
    df = pd.DataFrame(
        {
            "编号": _record_numbers("TZ", street, n),
            "姓名": dirty_names(
                p["name"].to_numpy(),
                rng,
                spaces=dirt.typo(0.01),
                traditional=dirt.typo(0.002),
                homophone=dirt.name_homophone,
            ),
            "性别": sex_labels(p["sex"].to_numpy(), rng, wrong=dirt.typo(0.002)),
            "公民身份号码": _ids(p, rng, dirt, typo=0.015, missing=0.02, legacy=0.005),
            "出生日期": format_dates(
                _blank(
                    shift_dates(p["birth_date"].to_numpy(), mask(n, dirt.typo(0.004), rng), rng),
                    dirt.missing_birth_date,
                    rng,
                ),
                rng,
                styles={"iso": 0.6, "slash": 0.25, "chinese": 0.1, "compact": 0.05},
            ),
            "民族": p["ethnicity"].to_numpy(),
            "联系电话": np.where(
                mask(n, dirt.miss(0.1), rng),
                "",
                format_phones(p["phone"].to_numpy(), rng, messy=0.15),
            ),
            "居委会": p["community_code"].map(community_names).to_numpy(),
            "居住地址": write(listed_at, style),
            "居住起始日期": format_dates(
                p["residence_since"].to_numpy(), rng, styles={"iso": 0.7, "slash": 0.3}
            ),
            "居住时长（月）": p["months_here"].astype(int).astype(str).to_numpy(),
            "户籍地址": hukou,
            "人户状态": status,
            "备注": np.where(p["age"] >= 80, "高龄", ""),
            "_person_id": p["person_id"].to_numpy(),
            "_room_id": listed_at,
            "_address_kind": np.where(listed_at != "", "residence", ""),
        },
        dtype=object,
    )
    return _with_duplicates(df, 0.008, rng)


def _mothers(p: pd.DataFrame) -> pd.Series:
    """ID number of each person's mother in the household (head or spouse, female)."""
    women = p[(p["sex"] == "F") & p["relation"].isin(["户主", "配偶"]) & (p["age"].between(18, 50))]
    mother = women.drop_duplicates("household_key").set_index("household_key")["id_number"]
    return p["household_key"].map(mother).fillna("")


def health_records(
    p: pd.DataFrame,
    street: str,
    write: AddressWriter,
    as_of: dt.date,
    rng: np.random.Generator,
    dirt: DirtProfile = DEFAULT,
) -> pd.DataFrame:
    """Health commission (卫健): family-doctor sign-ups, chronic disease, pregnancy, births."""
    living = p["presence"].isin(["resident"]).to_numpy()
    stale = (p["presence"] == "deceased").to_numpy() & mask(len(p), dirt.kept(0.5), rng)
    mothers = _mothers(p)
    parts = []
    for kind, sel, detail in (
        ("家庭医生签约", (living | stale) & p["family_doctor"].to_numpy(), ""),
        (
            "慢病管理",
            (living | stale) & (p["chronic_disease"] != "").to_numpy(),
            p["chronic_disease"],
        ),
        ("孕产妇建册", living & p["pregnant"].to_numpy(), "早孕建册"),
        ("出生登记", living & (p["age"] <= 2).to_numpy(), "出生医学证明"),
    ):
        q = p[sel]
        d = detail[sel] if isinstance(detail, pd.Series) else detail
        parts.append(
            q.assign(_kind=kind, _detail=d, _mother=mothers[sel] if kind == "出生登记" else "")
        )
    q = pd.concat(parts, ignore_index=True)
    n = len(q)
    days = rng.integers(1, 1000, n)
    # Pregnancies are registered early (weeks 6-12): the pregnant now registered lately.
    days = np.where(q["_kind"].to_numpy() == "孕产妇建册", days % 240 + 1, days)
    event = np.datetime64(as_of) - days.astype("timedelta64[D]")
    newborn = (q["_kind"] == "出生登记").to_numpy()
    ids = _ids(q, rng, dirt, typo=0.005, missing=0.003, legacy=0.002)
    home = _blank(q["home_room_id"].to_numpy(), dirt.missing_address, rng)
    return pd.DataFrame(
        {
            "记录编号": _record_numbers("WJ", street, n),
            "业务类型": q["_kind"].to_numpy(),
            "身份证号": np.where(newborn & mask(n, 0.2, rng), "", ids),
            "姓名": dirty_names(
                q["name"].to_numpy(),
                rng,
                spaces=dirt.typo(0.003),
                homophone=dirt.name_homophone,
            ),
            "性别": sex_labels(q["sex"].to_numpy(), rng, wrong=dirt.typo(0.001)),
            "出生日期": format_dates(
                _blank(
                    shift_dates(q["birth_date"].to_numpy(), mask(n, dirt.typo(0.003), rng), rng),
                    dirt.missing_birth_date,
                    rng,
                ),
                rng,
                styles={"iso": 0.8, "compact": 0.2},
            ),
            "联系电话": format_phones(q["phone"].to_numpy(), rng, messy=0.05),
            "现住址": write(home, dirt.style(HEALTH_STYLE)),
            "登记日期": event.astype(str),
            "诊断或备注": q["_detail"].to_numpy(),
            "母亲身份证号": q["_mother"].to_numpy(),
            "_person_id": q["person_id"].to_numpy(),
            "_room_id": home,
            "_address_kind": np.where(home != "", "residence", ""),
        },
        dtype=object,
    )


def civil_affairs(
    p: pd.DataFrame,
    street: str,
    write: AddressWriter,
    as_of: dt.date,
    rng: np.random.Generator,
    dirt: DirtProfile = DEFAULT,
) -> pd.DataFrame:
    """Civil affairs (民政): marriages, disability, low income, elderly care, funerals."""
    resident = (p["presence"] == "resident").to_numpy()
    heads = (
        p[p["relation"] == "户主"]
        .drop_duplicates("household_key")
        .set_index("household_key")["id_number"]
    )
    spouses = (
        p[p["relation"] == "配偶"]
        .drop_duplicates("household_key")
        .set_index("household_key")["id_number"]
    )
    spouse = np.where(
        p["relation"] == "户主",
        p["household_key"].map(spouses).fillna(""),
        np.where(p["relation"] == "配偶", p["household_key"].map(heads).fillna(""), ""),
    )
    p = p.assign(_spouse=spouse)
    recent_marriage = (
        resident
        & p["married"].to_numpy()
        & p["age"].between(22, 38).to_numpy()
        & mask(len(p), 0.3, rng)
    )
    parts = []
    for kind, sel in (
        ("婚姻登记", recent_marriage),
        ("残疾人证", resident & p["disabled"].to_numpy()),
        ("最低生活保障", resident & p["low_income"].to_numpy()),
        ("养老服务补贴", resident & p["elderly_care"].to_numpy()),
        ("殡葬服务", (p["presence"] == "deceased").to_numpy() & mask(len(p), 0.9, rng)),
    ):
        parts.append(p[sel].assign(_kind=kind))
    q = pd.concat(parts, ignore_index=True)
    n = len(q)
    disab = (q["_kind"] == "残疾人证").to_numpy()
    home = _blank(q["home_room_id"].to_numpy(), dirt.missing_address, rng)
    return pd.DataFrame(
        {
            "记录编号": _record_numbers("MZ", street, n),
            "业务类型": q["_kind"].to_numpy(),
            "身份证号": _ids(q, rng, dirt, typo=0.004, missing=0.0, legacy=0.003),
            "姓名": dirty_names(
                q["name"].to_numpy(),
                rng,
                spaces=dirt.typo(0.002),
                homophone=dirt.name_homophone,
            ),
            "性别": sex_labels(q["sex"].to_numpy(), rng),
            "出生日期": format_dates(
                _blank(
                    shift_dates(q["birth_date"].to_numpy(), mask(n, dirt.typo(0.005), rng), rng),
                    dirt.missing_birth_date,
                    rng,
                ),
                rng,
                styles={"iso": 0.5, "chinese": 0.5},
            ),
            "配偶身份证号": np.where(q["_kind"] == "婚姻登记", q["_spouse"], ""),
            "残疾类别": np.where(disab, q["disability_type"], ""),
            "残疾等级": np.where(disab, q["disability_grade"].astype(str), ""),
            "现住址": write(home, dirt.style(HEALTH_STYLE)),
            "办理日期": (
                np.datetime64(as_of) - rng.integers(1, 1000, n).astype("timedelta64[D]")
            ).astype(str),
            "_person_id": q["person_id"].to_numpy(),
            "_room_id": home,
            "_address_kind": np.where(home != "", "residence", ""),
        },
        dtype=object,
    )


def social_security(
    p: pd.DataFrame,
    street: str,
    as_of: dt.date,
    rng: np.random.Generator,
    dirt: DirtProfile = DEFAULT,
) -> pd.DataFrame:
    """Human resources and social security (人社): insured employees and their employers."""
    q = p[(p["employer_credit_code"] != "") & p["presence"].isin(["resident", "moved_out"])]
    n = len(q)
    # A mistyped last character breaks the code's check character.
    clean = pd.Series(q["employer_credit_code"].to_numpy(), dtype=object)
    last = np.where(clean.str[-1] == "1", "2", "1")
    codes = np.where(mask(n, 0.01, rng), clean.str[:-1] + last, clean)
    return pd.DataFrame(
        {
            "记录编号": _record_numbers("RS", street, n),
            "身份证号": _ids(q, rng, dirt, typo=0.003, missing=0.0, legacy=0.0),
            "姓名": dirty_names(q["name"].to_numpy(), rng, homophone=dirt.typo(0.005)),
            "单位统一社会信用代码": codes,
            "单位名称": q["employer_name"].to_numpy(),
            "参保状态": np.where(q["presence"] == "moved_out", "暂停缴费", "正常缴费"),
            "参保日期": (
                np.datetime64(as_of) - rng.integers(30, 3000, n).astype("timedelta64[D]")
            ).astype(str),
            "_person_id": q["person_id"].to_numpy(),
            "_room_id": "",
            "_address_kind": "",
        },
        dtype=object,
    )


HOTLINE_TOPICS = (
    ("噪音扰民", "楼上装修噪音，晚上十点后仍在施工"),
    ("物业管理", "小区电梯经常故障，物业不处理"),
    ("环境卫生", "垃圾分类点清运不及时，有异味"),
    ("停车管理", "小区门口车辆乱停，影响通行"),
    ("房屋漏水", "楼上渗水到我家卫生间天花板"),
    ("群租问题", "隔壁房屋群租，人员进出频繁"),
    ("路灯损坏", "路灯不亮，夜间出行不便"),
    ("养老服务", "咨询老人助餐服务如何申请"),
)


def hotline_tickets(
    p: pd.DataFrame,
    street: str,
    buildings: pd.DataFrame,
    rooms: pd.DataFrame,
    write: AddressWriter,
    as_of: dt.date,
    rng: np.random.Generator,
    dirt: DirtProfile = DEFAULT,
) -> pd.DataFrame:
    """12345 hotline tickets: caller name and phone, a free-text address, no ID number."""
    adults = p[(p["presence"] == "resident") & (p["age"] >= 18)]
    callers = adults.drop_duplicates("household_key")
    callers = callers[mask(len(callers), 0.08, rng)]
    n = len(callers)
    polite = np.where(callers["sex"] == "M", "先生", "女士")
    name = np.where(mask(n, 0.25, rng), callers["name"].str[:1] + polite, callers["name"])
    phone = np.where(mask(n, 1.0 - dirt.miss(0.1), rng), callers["phone"], "")
    room = callers["home_room_id"].to_numpy().astype(object)
    # A share of tickets are about a place, not the caller's home: no room to link.
    about_place = mask(n, 0.15, rng)
    addr = write(room, dirt.style(HOTLINE_STYLE))
    comp = buildings.set_index("building_id")["compound"]
    bid = pd.Series(room, dtype=object).str.rsplit("-", n=1).str[0]
    compound = bid.map(comp).fillna("").to_numpy()
    use_compound = mask(n, 0.2, rng) & (compound != "")
    rno = rooms.set_index("room_id")["room_no"].reindex(room).fillna("").to_numpy()
    hno = (
        bid.map(buildings.set_index("building_id")["house_no"])
        .fillna(0)
        .astype(int)
        .astype(str)
        .to_numpy()
    )
    addr = np.where(use_compound, compound + hno + "号" + rno, addr)
    place = buildings.loc[buildings["use"].isin(["commercial", "office"]), "address"].to_numpy()
    if len(place):
        addr = np.where(
            about_place, rng.choice(place, n) + np.where(mask(n, 0.5, rng), "门口", "附近"), addr
        )
    topic = rng.integers(0, len(HOTLINE_TOPICS), n)
    when = np.datetime64(as_of) - rng.integers(1, 365, n).astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "工单编号": _record_numbers("RX", street, n),
            "受理时间": pd.Series(when.astype(str))
            + " "
            + pd.Series(rng.integers(8, 21, n).astype(str)).str.zfill(2)
            + ":"
            + pd.Series(rng.integers(0, 60, n).astype(str)).str.zfill(2),
            "来电人": name,
            "联系电话": format_phones(phone, rng, messy=0.2),
            "诉求地址": addr,
            "诉求类型": np.array([t[0] for t in HOTLINE_TOPICS])[topic],
            "诉求内容": np.array([t[1] for t in HOTLINE_TOPICS])[topic],
            "_person_id": callers["person_id"].to_numpy(),
            "_room_id": np.where(about_place, "", room),
            # A ticket's address is the caller's home, or a place (no room to link).
            "_address_kind": "residence",
        },
        dtype=object,
    )


# Positioning error of an operator's night-time residence (metres, per axis).
NIGHT_POSITION_ERROR_M = 50.0
# Share of people aged twelve and over whom the operators' comparison finds.
OPERATOR_COVERAGE = 0.9
# Months of history an operator keeps: longer stays show as this many months.
OPERATOR_HISTORY_MONTHS = 24


def operator_presence(
    p: pd.DataFrame,
    street: str,
    building_xy: pd.DataFrame,
    projected_crs: str,
    as_of: dt.date,
    rng: np.random.Generator,
    dirt: DirtProfile = DEFAULT,
) -> pd.DataFrame:
    """Operators' real-name night-time residence (运营商实名信令夜间常驻地), per person.

    The district sends the people it knows of (ledger and hukou register) and the
    operators add everyone who sleeps in the district; a row gives where its phone
    spent the nights of the last month. Residents are positioned near their building;
    people registered here who live elsewhere, and those who moved away, far from it.
    """
    presence = p["presence"].to_numpy()
    keep = (
        np.isin(presence, ["resident", "absent", "moved_out"])
        & (p["age"].to_numpy() >= 12)
        & mask(len(p), OPERATOR_COVERAGE, rng)
    )
    q = p[keep]
    n = len(q)
    here = (q["presence"] == "resident").to_numpy()
    building = pd.Series(q["home_room_id"].to_numpy(), dtype=object).str.rsplit("-", n=1).str[0]
    xy = building_xy.reindex(building.to_numpy())
    x = xy["x"].to_numpy(dtype=float) + rng.normal(0, NIGHT_POSITION_ERROR_M, n)
    y = xy["y"].to_numpy(dtype=float) + rng.normal(0, NIGHT_POSITION_ERROR_M, n)
    lon, lat = transformer(projected_crs, "EPSG:4326").transform(x, y)
    # Elsewhere in China: west of Shanghai, well outside any Shanghai district.
    lon = np.where(here, lon, 121.4 - rng.uniform(1.2, 12.0, n))
    lat = np.where(here, lat, 31.2 + rng.uniform(-6.0, 6.0, n))
    months = np.minimum(q["months_here"].to_numpy(dtype=int), OPERATOR_HISTORY_MONTHS)
    return pd.DataFrame(
        {
            "序号": _record_numbers("YY", street, n),
            "证件号码": _ids(q, rng, dirt, typo=0.002, missing=0.0, legacy=0.01),
            "姓名": dirty_names(q["name"].to_numpy(), rng, spaces=dirt.typo(0.002)),
            "手机号码": q["phone"].to_numpy(),
            "夜间常驻经度": np.char.mod("%.6f", lon),
            "夜间常驻纬度": np.char.mod("%.6f", lat),
            "近30日夜间驻留天数": np.where(here, rng.integers(18, 31, n), rng.integers(20, 31, n)),
            "本地驻留月数": np.where(here, months.astype(str), ""),
            "统计月份": (as_of - dt.timedelta(days=as_of.day)).strftime("%Y-%m"),
            "_person_id": q["person_id"].to_numpy(),
            "_room_id": "",
            "_address_kind": "",
        },
        dtype=object,
    )
