"""Column names as departments write them, for each canonical field popbase reads.

Department exports name the same field many ways: 公民身份号码, 身份证号, 证件号码, the
pinyin initials of a database column (``sfzh``, ``gmsfhm``, ``zjhm``) or English
(``id_card``). Each canonical field of :data:`popbase.config.CANONICAL_FIELDS` (per
source kind) and of :data:`popbase.space.layers.LAYER_FIELDS` (per basemap layer) has a
:class:`Vocab`: exact names, Chinese stems a longer header may contain, and the shape its
values should have, so that the data can confirm what the header suggests.

Another person's field is not the row's own: 配偶身份证号 is the spouse's ID, 户主姓名 the
head of household's name, 法定代表人 a company's legal representative. A header holding one
of :data:`QUALIFIERS` matches only names that hold the same qualifier.

Names are compared by :func:`header_key`: NFKC (full-width forms), lower case, without
spaces, punctuation and brackets, so ``居住时长（月）``, ``居住时长(月)`` and ``居住时长 月`` agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from typing import Final

__all__ = [
    "LAYER_VOCAB",
    "QUALIFIERS",
    "SOURCE_VOCAB",
    "Vocab",
    "header_key",
    "is_known_header",
    "qualifiers_in",
]

_DROPPED: Final = re.compile(r"[\s_\-.·・:：/\\()\[\]{}<>【】《》“”\"'`,，、#*]+")


def header_key(text: str) -> str:
    r"""The form of a header name that synonyms are compared in.

    Examples
    --------
    >>> header_key("居住时长（月）"), header_key(" ID_Card "), header_key("公民身份\n号码")
    ('居住时长月', 'idcard', '公民身份号码')
    """
    return _DROPPED.sub("", unicodedata.normalize("NFKC", text).lower())


@dataclass(frozen=True)
class Vocab:
    """How one canonical field is named and what its values look like.

    Attributes
    ----------
    names
        Exact names (Chinese, English, pinyin initials), compared by :func:`header_key`.
    stems
        Chinese stems a longer header may contain (现居住详细地址 contains 居住地址).
    shape
        The shape of the values (a key of :data:`popbase.guess.values.SHAPES` or of
        :data:`~popbase.guess.values.WORD_SHAPES`), or ``None`` when values cannot tell.
    by_values
        Whether values alone may place a column here (an unnamed column of valid ID
        numbers is an ID column); only for shapes that nothing else has.
    weak
        Whole names that often but not always mean the field (备注, ``bz``): a header
        equal to one counts as much as a stem found in it, and is marked to check.
    """

    names: tuple[str, ...]
    stems: tuple[str, ...] = ()
    shape: str | None = None
    by_values: bool = False
    weak: tuple[str, ...] = ()
    keys: frozenset[str] = field(init=False, repr=False, compare=False)
    weak_keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", frozenset(header_key(n) for n in self.names))
        object.__setattr__(self, "weak_keys", frozenset(header_key(n) for n in self.weak))


def words(
    names: str,
    *,
    stems: str = "",
    shape: str | None = None,
    by_values: bool = False,
    weak: str = "",
) -> Vocab:
    """A :class:`Vocab` from space-separated names and stems (a table that reads as one).

    ``weak`` names are whole names that often, not always, mean the field (备注 holds a
    diagnosis in a health register, anything in another): they count as a stem does.
    """
    return Vocab(tuple(names.split()), tuple(stems.split()), shape, by_values, tuple(weak.split()))


# Words naming another person (or an organisation's officer) than the row's subject.
QUALIFIERS: Final = (
    "配偶", "母亲", "父亲", "父母", "户主", "监护人", "联系人", "法定代表人", "法人",
    "产权人", "房主", "业主", "子女", "代理人", "代办人", "经办人", "亲属", "紧急",
    "spouse", "mother", "father", "parent", "guardian", "owner", "head", "agent", "emergency",
)  # fmt: skip


def qualifiers_in(key: str) -> frozenset[str]:
    """The qualifiers a header key holds (配偶 in 配偶身份证号).

    Examples
    --------
    >>> sorted(qualifiers_in(header_key("配偶身份证号"))), sorted(qualifiers_in("姓名"))
    (['配偶'], [])
    """
    found = {q for q in QUALIFIERS if q in key}
    if "户主关系" in key:
        found.discard("户主")  # the relation to the head is the row's own field
    if "法定代表人" in found:
        found.discard("法人")
    return frozenset(found)


SOURCE_VOCAB: Final[dict[str, dict[str, Vocab]]] = {
    "person": {
        "record_no": words(
            "记录号 记录编号 编号 序号 工单编号 工单号 流水号 业务编号 档案编号 登记编号 "
            "台账编号 受理编号 业务流水号 record_no record_id recordno jlh jlbh bh xh gdbh lsh",
            stems="编号 流水号",
        ),
        "id_number": words(
            "公民身份号码 身份证号 身份证号码 证件号码 证件号 身份证件号码 居民身份证号码 身份证 "
            "证件编号 id_number id_card idcard id_no idno id_card_no citizen_id sfzh sfzhm "
            "gmsfhm zjhm sfz",
            stems="身份证 身份号码 证件号",
            shape="id_number",
            by_values=True,
        ),
        "name": words(
            "姓名 名字 居民姓名 人员姓名 来电人 来电人姓名 申请人 申请人姓名 参保人姓名 患者姓名 "
            "服务对象 服务对象姓名 登记人 name full_name person_name xm ldr",
            stems="姓名",
            shape="person_name",
        ),
        "sex": words(
            "性别 sex gender xb",
            stems="性别",
            shape="sex",
        ),
        "birth_date": words(
            "出生日期 出生年月 出生年月日 生日 出生时间 birth_date birthday dob date_of_birth "
            "csrq csny",
            stems="出生日期 出生年月 生日",
            shape="date",
        ),
        "ethnicity": words(
            "民族 ethnicity nation ethnic_group mz",
            stems="民族",
        ),
        "phone": words(
            "联系电话 手机号码 手机号 电话 联系方式 手机 电话号码 移动电话 来电号码 phone mobile "
            "tel telephone phone_number mobile_phone lxdh sjhm sjh dh lxfs yddh",
            stems="电话 手机 联系方式",
            shape="phone",
            by_values=True,
        ),
        "residence_address": words(
            "居住地址 现住址 现居住地址 实际居住地址 居住地 住址 诉求地址 现住地址 居住详址 "
            "现居住地 现居地址 家庭住址 家庭地址 地址 residence_address address current_address "
            "home_address living_address jzdz xzz xjzdz sjjzdz jtzz dz",
            stems="居住地址 现住址 居住地 现住地 现居 住址 诉求地址 家庭地址 事发地",
            shape="address",
        ),
        "residence_since": words(
            "居住起始日期 入住时间 入住日期 居住时间 居住开始日期 来沪日期 来本地日期 "
            "居住起始时间 residence_since moved_in move_in_date living_since live_since "
            "jzqsrq rzsj",
            stems="居住起始 入住 来沪",
            shape="date",
        ),
        "residence_months": words(
            "居住时长（月） 居住时长 居住月数 本地驻留月数 驻留月数 居住时间（月） 居住时长月 "
            "residence_months months_resident living_months jzsc jzys",
            stems="居住时长 居住月数 驻留月数",
            shape="integer",
        ),
        "hukou_address": words(
            "户籍地址 户籍所在地 户口所在地 户籍地 户籍地详址 户籍住址 户口地址 户籍详址 "
            "hukou_address registered_address household_address hjdz hjszd hkszd hjd",
            stems="户籍地 户口所在 户籍所在 户籍住址 户口地址",
            shape="address",
        ),
        "hukou_since": words(
            "户籍迁入日期 迁入日期 落户日期 入户日期 户籍登记日期 迁入时间 hukou_since qrrq lhrq",
            stems="迁入日期 落户 入户日期",
            shape="date",
        ),
        "household_no": words(
            "户号 户编号 户籍户号 家庭户号 household_no household_id hh_no hh",
            stems="户号",
        ),
        "household_status": words(
            "人户状态 人户一致 人户分离状态 人户分离情况 household_status rhzt",
            stems="人户",
            shape="household_status",
        ),
        "relation": words(
            "与户主关系 与户主的关系 关系 家庭关系 户内关系 relation relationship "
            "relation_to_head yhzgx gx",
            stems="与户主关系 户主关系",
        ),
        "person_status": words(
            "人员状态 参保状态 户籍状态 人口状态 在册状态 状态 缴费状态 person_status status "
            "ryzt cbzt",
            stems="人员状态 参保状态 缴费状态",
            shape="person_status",
        ),
        "marital_status": words(
            "婚姻状况 婚姻状态 marital_status marriage hyzk",
            stems="婚姻状",
        ),
        "spouse_id_number": words(
            "配偶身份证号 配偶身份证号码 配偶公民身份号码 配偶证件号码 spouse_id_number "
            "spouse_id spouse_id_card spouse_id_card_no spouse_idcard posfzh pozjhm",
            shape="id_number",
        ),
        "education": words(
            "文化程度 学历 受教育程度 education whcd xl",
            stems="学历",
        ),
        "employer_credit_code": words(
            "单位统一社会信用代码 统一社会信用代码 信用代码 社会信用代码 单位信用代码 "
            "用人单位统一社会信用代码 employer_credit_code employer_uscc dwtyshxydm tyshxydm",
            stems="信用代码",
            shape="credit_code",
            by_values=True,
        ),
        "employer_name": words(
            "单位名称 工作单位 就业单位 参保单位 用人单位 服务处所 工作单位名称 employer "
            "employer_name company dwmc gzdw",
            stems="单位名称 工作单位 就业单位 参保单位 用人单位",
        ),
        "event_type": words(
            "业务类型 事件类型 事项类型 服务类型 诉求类型 工单类型 业务类别 事项类别 服务类别 "
            "事项名称 event_type business_type ywlx sqlx",
            stems="业务类型 事件类型 事项类型 诉求类型 业务类别 事项类别 服务类别",
        ),
        "event_detail": words(
            "诊断或备注 诊断 详情 事件描述 诊断结果 event_detail event_note detail diagnosis",
            stems="诊断",
            # A record's notes often say what its event was (the diagnosis, the disease).
            weak="备注 备注说明 说明 remark remarks note notes bz",
        ),
        "event_date": words(
            "登记日期 办理日期 受理时间 受理日期 业务日期 发生日期 参保日期 就诊日期 签约日期 "
            "服务日期 来电时间 建档日期 event_date djrq blrq slsj cbrq ywrq",
            stems="办理日期 受理时间 受理日期 登记日期 参保日期 签约日期",
            shape="date",
        ),
        "community_name": words(
            "居委会 社区 所属社区 居委 村居 社区名称 居委会名称 所属居委 居村委 community "
            "community_name sqmc jwh",
            stems="居委 所属社区 社区名称",
        ),
        "text": words(
            "诉求内容 工单内容 问题描述 来电内容 反映内容 诉求描述 事项描述 text content "
            "description sqnr",
            stems="诉求内容 反映内容 来电内容 诉求描述",
        ),
        # Degrees, or projected metres (X坐标/Y坐标): the layer's CRS says which.
        "lon": words(
            "经度 lng lon long longitude x jd gps经度 x坐标 坐标x xzb x_coord point_x easting",
            stems="经度",
            shape="lon",
        ),
        "lat": words(
            "纬度 lat latitude y wd gps纬度 y坐标 坐标y yzb y_coord point_y northing",
            stems="纬度",
            shape="lat",
        ),
    },
    "enterprise": {
        "credit_code": words(
            "统一社会信用代码 信用代码 社会信用代码 单位统一社会信用代码 credit_code uscc "
            "unified_social_credit_code tyshxydm xydm",
            stems="信用代码",
            shape="credit_code",
            by_values=True,
        ),
        "name": words(
            "企业名称 单位名称 名称 主体名称 市场主体名称 机构名称 公司名称 company_name "
            "enterprise_name name qymc dwmc mc",
            stems="企业名称 主体名称 公司名称 机构名称",
        ),
        "address": words(
            "住所 注册地址 经营地址 地址 经营场所 住所地址 注册地 企业地址 address "
            # dom: 住所 (domicile) in the market regulator's own exports.
            "registered_address reg_address reg_addr dom zs zcdz jydz",
            stems="住所 注册地址 经营地址 经营场所",
            shape="address",
        ),
        "legal_person": words(
            "法定代表人 法人 法人代表 负责人 经营者 法定代表人姓名 legal_person "
            "legal_representative fddbr fr",
            stems="法定代表人 法人代表",
        ),
        "founded": words(
            "成立日期 注册日期 开业日期 成立时间 设立日期 founded established founding_date clrq",
            stems="成立日期 成立时间 开业日期",
            shape="date",
        ),
        "industry": words(
            "所属行业 行业 行业类别 行业门类 国民经济行业 行业分类 industry sshy hy",
            stems="行业",
        ),
        "status": words(
            "登记状态 经营状态 企业状态 状态 status reg_status registration_status "
            "business_status djzt jyzt",
            stems="登记状态 经营状态",
        ),
    },
    "room": {
        "room_code": words(
            "房屋编号 房屋代码 房屋编码 户室编号 房号编码 room_code room_id fwbh fwdm fwbm",
            stems="房屋编号 房屋编码 房屋代码",
        ),
        "address": words(
            "房屋坐落 坐落 房屋地址 户室地址 房屋坐落地址 地址 address location fwzl zl dz",
            stems="坐落 房屋地址",
            shape="address",
        ),
        "building_address": words(
            "楼栋地址 楼幢地址 楼栋坐落 所在楼栋 楼宇地址 幢地址 幢坐落 building_address ldzz lddz",
            stems="楼栋 楼幢 幢地址 幢坐落",
            shape="address",
        ),
        "room_no": words(
            "室号 房号 户室号 室 room_no room_number sh fh",
            stems="室号 房号",
        ),
        "floor": words(
            "所在层 楼层 所在楼层 层 层次 floor szc lc",
            stems="所在层 楼层",
            shape="integer",
        ),
        "area": words(
            "建筑面积 面积 套内面积 房屋面积 area jzmj mj",
            stems="面积",
            shape="number",
        ),
        "use": words(
            "房屋用途 用途 规划用途 使用性质 房屋性质 use usage fwyt yt",
            stems="用途",
            shape="building_use",
        ),
    },
    "signaling": {
        "grid_code": words(
            "网格编码 网格代码 网格编号 网格id 网格 grid_code grid_id grid wgbm wgdm",
            stems="网格编 网格代",
            shape="code",
        ),
        "date": words(
            "日期 统计日期 date day stat_date statistics_date rq tjrq",
            stems="日期",
            shape="date",
        ),
        "hour": words(
            "小时 时段 时刻 hour xs sd",
            stems="小时",
            shape="hour",
        ),
        "residents": words(
            "居住人口 常驻人口 居住人数 常住人数 常住人口 驻留人口 residents jzrk jzrs",
            stems="居住人 常住人 常驻人",
            shape="integer",
        ),
        "workers": words(
            "工作人口 工作人数 就业人口 就业人数 workers gzrk gzrs",
            stems="工作人 就业人",
            shape="integer",
        ),
        "visitors": words(
            "访客人口 访客人数 到访人口 到访人数 来访人口 来访人数 visitors fkrk fkrs",
            stems="访客 到访 来访",
            shape="integer",
        ),
    },
}

LAYER_VOCAB: Final[dict[str, dict[str, Vocab]]] = {
    "divisions": {
        "code": words(
            "区划代码 行政区划代码 统计用区划代码 代码 编码 code adcode division_code xzqdm qhdm "
            "dm bm street_code town_code community_code committee_code village_code jddm jwdm "
            "sqdm",
            stems="区划代码 区划编码 行政区代码 代码 编码",
            shape="division_code",
            by_values=True,
        ),
        "name": words(
            "名称 区划名称 行政区名称 行政区划名称 name division_name xzqmc qhmc mc street_name "
            "town_name community_name committee_name village_name jdmc jwmc sqmc",
            stems="名称",
            shape="division_name",
        ),
        "level": words(
            "级别 层级 区划级别 等级 level jb",
            stems="级别 层级",
        ),
        # The division one level up, by its code or its name (所属街道: 江川路街道).
        "parent": words(
            "上级代码 上级区划代码 父级代码 上级编码 上级名称 上级区划 所属街道 所属街镇 所属乡镇 "
            "所属镇 所属区县 所属区 parent parent_code parent_id parent_name sjdm",
            stems="上级 所属",
        ),
    },
    "grids": {
        "code": words(
            "网格编码 网格代码 网格编号 grid_code grid_id code wgbm",
            stems="网格编 网格代",
            shape="grid_code",
            by_values=True,
        ),
        "name": words(
            "网格名称 名称 name wgmc mc",
            stems="名称",
        ),
        "community": words(
            "所属社区代码 社区代码 居委代码 居委会代码 所属居委代码 community_code community sqdm",
            stems="社区代码 居委代码 居委会代码",
            shape="division_code",
        ),
    },
    "buildings": {
        "id": words(
            "建筑编号 楼栋编号 建筑物编号 建筑id 楼栋id 房屋编号 building_id bldg_id jzbh ldbh "
            "id fid_1 objectid 编号 唯一编号 标识码 bsm",
            stems="建筑编号 楼栋编号 建筑物编号",
        ),
        "address": words(
            "地址 门牌地址 楼栋地址 门牌 标准地址 门牌号 建筑地址 坐落 address addr dz mpdz",
            stems="地址 门牌 坐落",
            shape="address",
        ),
        "use": words(
            "用途 建筑用途 房屋用途 使用性质 建筑类型 use usage yt jzyt",
            stems="用途",
            shape="building_use",
        ),
        "floors": words(
            "层数 地上层数 楼层数 建筑层数 总层数 floors levels floor_count cs dscs",
            stems="层数",
            shape="integer",
        ),
        "compound": words(
            "小区 小区名称 所属小区 小区名 compound estate xqmc",
            stems="小区",
        ),
    },
    "facilities": {
        "id": words(
            "设施编号 设施id facility_id poi_id poiid sszbh id fid_1 objectid 编号 唯一编号 "
            "标识码 bsm",
            stems="设施编号",
        ),
        "name": words(
            "名称 设施名称 机构名称 name poi_name mc",
            stems="名称",
        ),
        "type": words(
            "类型 设施类型 类别 设施类别 分类 type category kind lx",
            stems="类型 类别",
        ),
        "capacity": words(
            "规模 容量 床位数 班级数 学位数 capacity size gm",
            stems="规模 容量 床位 学位",
            shape="number",
        ),
        "building": words(
            "building_id 所在建筑 建筑编号 楼栋编号 所在楼栋编号",
            stems="所在建筑",
        ),
    },
    "roads": {
        "id": words(
            "道路编号 road_id 道路id id fid_1 objectid 编号 唯一编号 标识码 bsm",
            stems="道路编号",
        ),
        "name": words(
            "道路名称 路名 名称 name road_name dlmc",
            stems="路名 道路名",
        ),
    },
}


@cache
def _all_keys() -> frozenset[str]:
    keys: set[str] = set()
    for vocab in (SOURCE_VOCAB, LAYER_VOCAB):
        for fields in vocab.values():
            for entry in fields.values():
                keys |= entry.keys
    # One- and two-letter initials (x, y, xm, dh) also name data cells: not header evidence.
    return frozenset(k for k in keys if not (k.isascii() and len(k) <= 2))


def is_known_header(text: str) -> bool:
    """Whether a cell's text is a column name some field is known by.

    Examples
    --------
    >>> is_known_header("公民身份号码"), is_known_header("张三"), is_known_header("基本信息")
    (True, False, False)
    """
    return header_key(text) in _all_keys()
