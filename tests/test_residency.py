"""Residency status (人户状态) on hand-made tables: each rule of the statistical definition."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from popbase.backends import DuckDBBackend
from popbase.population.residency import (
    child_at_home_sql,
    drop_residence_of_away_sql,
    household_at_hukou_sql,
    presence_at_hukou_sql,
    record_rule_sql,
    residency_sql,
    rules_table_sql,
    stays_in_sql,
)
from popbase.values.records import read_field
from popbase.values.vocabulary import load_vocabulary

AS_OF = dt.date(2025, 6, 30)
# Two streets of one district; rooms r1, r2 in street 001, r3 in street 002.
ROOMS = [("r1", "b1"), ("r2", "b2"), ("r3", "b3")]
BUILDINGS = [("b1", "310112001001001"), ("b2", "310112001002001"), ("b3", "310112002001001")]


@pytest.fixture
def db() -> DuckDBBackend:
    backend = DuckDBBackend()
    con = backend.con
    con.execute("CREATE TABLE rooms (room_id VARCHAR, building_id VARCHAR)")
    con.executemany("INSERT INTO rooms VALUES (?, ?)", ROOMS)
    con.execute("CREATE TABLE buildings (building_id VARCHAR, division_code VARCHAR)")
    con.executemany("INSERT INTO buildings VALUES (?, ?)", BUILDINGS)
    con.execute(
        "CREATE TABLE persons_golden (person_id VARCHAR, deceased BOOLEAN, birth_date DATE)"
    )
    con.execute(
        "CREATE TABLE member_of (person_id VARCHAR, household_id VARCHAR, relation VARCHAR, "
        "source VARCHAR, record_id VARCHAR, as_of TIMESTAMP)"
    )
    link = "person_id VARCHAR, room_id VARCHAR, source VARCHAR, record_id VARCHAR, as_of TIMESTAMP"
    con.execute(f"CREATE TABLE lives_in ({link})")
    con.execute(f"CREATE TABLE hukou_at ({link})")
    con.execute(
        "CREATE TABLE person_records_valid (record_id VARCHAR, source VARCHAR, priority BIGINT, "
        "as_of TIMESTAMP, residence_months VARCHAR, residence_since VARCHAR, "
        "household_status VARCHAR, person_status VARCHAR, lon VARCHAR, lat VARCHAR, "
        "event_date VARCHAR)"
    )
    con.execute(
        "CREATE TABLE presence_places (person_id VARCHAR, source VARCHAR, record_id VARCHAR, "
        "as_of TIMESTAMP, priority BIGINT, place VARCHAR, division_code VARCHAR, "
        "community_code VARCHAR)"
    )
    con.execute(
        "CREATE TABLE stays_in (person_id VARCHAR, division_code VARCHAR, "
        "community_code VARCHAR, source VARCHAR, record_id VARCHAR, as_of TIMESTAMP)"
    )
    con.execute(
        "CREATE TABLE person_members (record_id VARCHAR, person_id VARCHAR, as_of TIMESTAMP)"
    )
    con.execute(
        "CREATE TABLE record_links (record_id VARCHAR, address_kind VARCHAR, room_id VARCHAR)"
    )
    con.execute("CREATE TABLE residence_rules (person_id VARCHAR, rule VARCHAR)")
    return backend


def person(
    db: DuckDBBackend,
    pid: str,
    *,
    lives: str | None = None,
    hukou: str | None = None,
    deceased: bool = False,
    records: tuple[tuple[str | None, str | None, str | None], ...] = (),
    born: str = "1980-05-01",
    household: str | None = None,
) -> None:
    con = db.con
    con.execute("INSERT INTO persons_golden VALUES (?, ?, ?)", [pid, deceased, born])
    if household:
        con.execute(
            "INSERT INTO member_of VALUES (?, ?, '子女', 'police', ?, NULL)", [pid, household, pid]
        )
    if lives:
        con.execute("INSERT INTO lives_in VALUES (?, ?, 'ledger', ?, NULL)", [pid, lives, pid])
    if hukou:
        con.execute("INSERT INTO hukou_at VALUES (?, ?, 'police', ?, NULL)", [pid, hukou, pid])
    for i, (months, since, stated) in enumerate(records):
        add_record(db, pid, f"{pid}:{i}", "ledger", months=months, since=since, stated=stated)


WORDS = load_vocabulary()


def as_read(reader: str, value: str | None) -> str | None:
    """A value as the validate stage hands it on (ISO dates, canonical words)."""
    read: str | None = read_field(reader, pa.array([value], pa.string()), WORDS).values[0].as_py()
    return read


def add_record(
    db: DuckDBBackend,
    pid: str,
    rid: str,
    source: str,
    *,
    months: str | None = None,
    since: str | None = None,
    stated: str | None = None,
    status: str | None = None,
    priority: int = 1,
    at: tuple[str, str] | None = None,
    dated: str | None = None,
) -> None:
    lon, lat = at or (None, None)
    read = [
        as_read("months", months),
        as_read("date", since),
        as_read("household_status", stated),
        as_read("person_status", status),
    ]
    db.con.execute(
        "INSERT INTO person_records_valid VALUES "
        "(?, ?, ?, TIMESTAMP '2025-06-01', ?, ?, ?, ?, ?, ?, ?)",
        [rid, source, priority, *read, lon, lat, as_read("date", dated)],
    )
    db.con.execute("INSERT INTO person_members VALUES (?, ?, TIMESTAMP '2025-06-01')", [rid, pid])


def statuses(db: DuckDBBackend, sources: list[str] | None = None) -> dict[str, str]:
    db.execute(residency_sql(AS_OF, sources))
    rows = db.query_df("SELECT person_id, residency_status FROM residency")
    return dict(zip(rows["person_id"], rows["residency_status"], strict=True))


def decided_by(db: DuckDBBackend, column: str = "residency_rule") -> dict[str, str | None]:
    """Each person's deciding rule, from the last ``residency`` table."""
    rows = db.query_df(f"SELECT person_id, {column} AS rule FROM residency")
    return {
        p: (None if r is None or r != r else r)
        for p, r in zip(rows["person_id"], rows["rule"], strict=True)
    }


def test_each_rule(db: DuckDBBackend) -> None:
    # Lives where registered: same room, or another room of the same street.
    person(db, "same_room", lives="r1", hukou="r1")
    person(db, "same_street", lives="r1", hukou="r2")
    # Registered in another street of the district: 人在户不在, by months of residence.
    person(db, "other_street_long", lives="r1", hukou="r3", records=(("24", None, None),))
    person(db, "other_street_new", lives="r1", hukou="r3", records=(("3", None, None),))
    # Registered elsewhere: months given, or counted from the residence start date.
    person(db, "since_long", lives="r3", records=((None, "2024-01-15", None),))
    person(db, "since_new", lives="r3", records=((None, "2025年3月1日", None),))
    # No months anywhere: a stated 流动 decides; otherwise 常住.
    person(db, "stated_floating", lives="r3", records=((None, None, "人在户不在（流动）"),))
    person(db, "unknown_stay", lives="r3")
    # Registered here, living elsewhere; dead; neither here.
    person(db, "away", hukou="r2")
    person(db, "dead", hukou="r2", deceased=True)
    person(db, "worker_only")
    assert statuses(db) == {
        "same_room": "present_registered",
        "same_street": "present_registered",
        "other_street_long": "present_resident",
        "other_street_new": "present_floating",
        "since_long": "present_resident",
        "since_new": "present_floating",
        "stated_floating": "present_floating",
        "unknown_stay": "present_resident",
        "away": "absent_registered",
        "dead": "none",
        "worker_only": "none",
    }


def test_a_residence_start_of_year_and_month_counts_from_its_first_day(db: DuckDBBackend) -> None:
    # As of 2025-06-30: from 2025-01-01 five whole months (流动), from 2024-12-01 six (常住),
    # however the ledger writes the month.
    for i, since in enumerate(("2025年1月", "2025.1", "202501", "二〇二五年一月", "2025/01")):
        person(db, f"new{i}", lives="r3", records=((None, since, None),))
    for i, since in enumerate(("2024年12月", "2024-12", "二〇二四年十二月")):
        person(db, f"settled{i}", lives="r3", records=((None, since, None),))
    result = statuses(db)
    assert {result[f"new{i}"] for i in range(5)} == {"present_floating"}
    assert {result[f"settled{i}"] for i in range(3)} == {"present_resident"}
    months = db.query_df("SELECT person_id, months FROM residency ORDER BY person_id")
    assert dict(zip(months["person_id"], months["months"], strict=True))["settled0"] == 6


def test_months_come_from_the_most_trusted_record_that_gives_them(db: DuckDBBackend) -> None:
    person(
        db,
        "p",
        lives="r3",
        records=(
            ("2", None, None),
            (None, None, "人在户不在（常住）"),
        ),
    )
    db.con.execute("UPDATE person_records_valid SET priority = 5 WHERE record_id = 'p:0'")
    assert statuses(db) == {"p": "present_floating"}
    db.con.execute("UPDATE person_records_valid SET priority = 0 WHERE record_id = 'p:0'")
    add_record(db, "p", "p:2", "ledger", months="30", priority=3)
    assert statuses(db) == {"p": "present_resident"}


def test_an_unlocated_presence_row_alone_leaves_the_registered_unknown(
    db: DuckDBBackend,
) -> None:
    # Social security says the person works in the city, not where they sleep.
    person(db, "working", hukou="r2")
    add_record(db, "working", "ss:1", "social", status="正常缴费")
    person(db, "suspended", hukou="r2")
    add_record(db, "suspended", "ss:2", "social", status="暂停缴费")
    person(db, "said_away", hukou="r2")
    add_record(db, "said_away", "ss:3", "social")
    add_record(db, "said_away", "tz:3", "ledger", stated="人不在户在")
    person(db, "other_source", hukou="r2")
    add_record(db, "other_source", "hl:4", "hotline")
    person(db, "already_housed", lives="r3", hukou="r2")
    add_record(db, "already_housed", "ss:5", "social")
    person(db, "insured_commuter")  # registered elsewhere, insured here: not here
    add_record(db, "insured_commuter", "ss:6", "social")
    assert settle(db, ["social"]) == {
        "working": "unknown",
        "suspended": "absent_registered",
        "said_away": "absent_registered",
        "other_source": "absent_registered",
        "already_housed": "present_resident",
        "insured_commuter": "none",
    }
    placed = db.query_df("SELECT person_id FROM lives_in")
    assert placed["person_id"].tolist() == ["already_housed"]
    assert decided_by(db) == {
        "working": "presence_unlocated",
        "suspended": "no_residence_here",
        "said_away": "said_away",
        "other_source": "no_residence_here",
        "already_housed": "listed",
        "insured_commuter": "not_here",
    }


def test_a_household_member_in_the_hukou_room_makes_presence_strong(db: DuckDBBackend) -> None:
    person(db, "mother", lives="r1", hukou="r1", household="h1")
    person(db, "son", hukou="r1", household="h1")
    add_record(db, "son", "ss:1", "social", status="正常缴费")
    # The family is listed in another room than the daughter's hukou: no evidence for it.
    person(db, "father", lives="r2", hukou="r3", household="h2")
    person(db, "daughter", hukou="r3", household="h2")
    add_record(db, "daughter", "ss:2", "social")
    # The family is home, but the person has no presence row at all: away (外出).
    person(db, "brother", hukou="r1", household="h1")
    # Insured, family at home, but the phone sleeps in another street: lives there.
    person(db, "sister", hukou="r1", household="h1", records=(("30", None, None),))
    add_record(db, "sister", "ss:3", "social")
    located(db, "sister", "op:3", "here", (G3, C3))
    assert settle(db, ["social", "operator"]) == {
        "mother": "present_registered",
        "son": "present_registered",
        "father": "present_resident",
        "daughter": "unknown",
        "brother": "absent_registered",
        "sister": "present_resident",
    }
    assert decided_by(db)["sister"] == "stays_in_unit"
    housed = db.query_df("SELECT person_id, room_id, record_id FROM lives_in ORDER BY ALL")
    assert {"person_id": "son", "room_id": "r1", "record_id": "ss:1"} in housed.to_dict("records")
    rules = decided_by(db)
    assert (rules["son"], rules["daughter"], rules["brother"]) == (
        "household_at_hukou",
        "presence_unlocated",
        "no_residence_here",
    )


def test_months_come_from_a_dated_record_of_another_source_at_the_room(
    db: DuckDBBackend,
) -> None:
    # Listed in r3 by a ledger that gives no months; a health record of 2024-01-05 (as of
    # 2025-06-30: 17 months) gave the same room.
    person(db, "settled", lives="r3")
    add_record(db, "settled", "hr:1", "health", dated="2024年1月5日")
    db.con.execute("INSERT INTO record_links VALUES ('hr:1', 'residence', 'r3')")
    # A dated record at another room says nothing about this one.
    person(db, "moved_in", lives="r3")
    add_record(db, "moved_in", "hr:2", "health", dated="20230105")
    db.con.execute("INSERT INTO record_links VALUES ('hr:2', 'residence', 'r1')")
    # Two months at this room prove nothing about before: the stated 流动 decides.
    person(db, "recent", lives="r3", records=((None, None, "流动人口"),))
    add_record(db, "recent", "hr:3", "health", dated="2025/4/20")
    db.con.execute("INSERT INTO record_links VALUES ('hr:3', 'residence', 'r3')")
    person(db, "no_dates", lives="r3")
    # A record dated before the birth of a baby is a slip: it proves no stay.
    person(db, "baby", lives="r3", born="2025-03-01", records=((None, None, "流动"),))
    add_record(db, "baby", "hr:4", "health", dated="2024-02-01")
    db.con.execute("INSERT INTO record_links VALUES ('hr:4', 'residence', 'r3')")
    assert settle(db, []) == {
        "settled": "present_resident",
        "moved_in": "present_resident",
        "recent": "present_floating",
        "no_dates": "present_resident",
        "baby": "present_floating",
    }
    assert decided_by(db, "months_rule") == {
        "settled": "months_from_dated_record",
        "moved_in": "months_unknown",
        "recent": "stated",
        "no_dates": "months_unknown",
        "baby": "stated",
    }
    months = db.query_df("SELECT person_id, months FROM residency WHERE person_id = 'settled'")
    assert months["months"].tolist() == [17]


def test_without_presence_sources_nothing_is_placed(db: DuckDBBackend) -> None:
    person(db, "working", hukou="r2")
    add_record(db, "working", "ss:1", "social")
    db.execute(presence_at_hukou_sql([]))
    assert db.scalar("SELECT count(*) FROM lives_in") == 0


def test_every_person_gets_exactly_one_status(db: DuckDBBackend) -> None:
    for i in range(20):
        person(db, f"p{i}", lives="r1" if i % 2 else None, hukou="r3" if i % 3 else None)
    db.execute(residency_sql(AS_OF))
    assert db.scalar("SELECT count(*) FROM residency") == 20
    result = statuses(db)
    for i in range(20):
        lives, registered = i % 2 == 1, i % 3 != 0
        expected = (
            "present_resident"  # lives in street 001, registered in 002 or elsewhere
            if lives
            else "absent_registered"
            if registered
            else "none"
        )
        assert result[f"p{i}"] == expected, i


# ---- located presence rows (an operator's night-time residence) ----

# Smallest units: grid g1 in committee c1 (street 001), grid g3 in committee c3 (street 002).
G1, C1 = "310112001001001", "310112001001"
G3, C3 = "310112002001001", "310112002001"


def located(
    db: DuckDBBackend, pid: str, rid: str, place: str, unit: tuple[str, str] | None = None
) -> None:
    """A presence row with coordinates, already placed ``here`` (in ``unit``) or ``away``."""
    add_record(db, pid, rid, "operator", at=("121.4", "31.1"))
    code, community = unit or (None, None)
    db.con.execute(
        "INSERT INTO presence_places VALUES (?, 'operator', ?, TIMESTAMP '2025-06-01', 1, ?, ?, ?)",
        [pid, rid, place, code, community],
    )


def settle(db: DuckDBBackend, sources: list[str]) -> dict[str, str]:
    """Run the residency steps after placing, in the stage's order; return statuses."""
    db.execute(drop_residence_of_away_sql())
    db.execute(rules_table_sql())
    for rule, sql in (
        ("located_at_hukou", presence_at_hukou_sql(sources)),
        ("household_at_hukou", household_at_hukou_sql(sources)),
        ("child_with_household", child_at_home_sql(AS_OF)),
    ):
        db.execute(sql)
        db.execute(record_rule_sql(rule))
    db.execute(stays_in_sql())
    return statuses(db, sources)


def test_a_person_observed_only_away_loses_a_stale_listing(db: DuckDBBackend) -> None:
    person(db, "moved_local", lives="r1", hukou="r1")
    located(db, "moved_local", "op:1", "away")
    person(db, "moved_outsider", lives="r3")
    located(db, "moved_outsider", "op:2", "away")
    # Two phones, one of them here: not away.
    person(db, "two_phones", lives="r3")
    located(db, "two_phones", "op:3", "away")
    located(db, "two_phones", "op:4", "here", (G3, C3))
    # A row near the edge says nothing.
    person(db, "at_the_edge", lives="r3")
    located(db, "at_the_edge", "op:5", "unsure")
    assert settle(db, ["operator"]) == {
        "moved_local": "absent_registered",
        "moved_outsider": "none",
        "two_phones": "present_resident",
        "at_the_edge": "present_resident",
    }
    assert db.scalar("SELECT count(*) FROM stays_in") == 0  # all housed or away


def test_a_located_row_places_the_registered_at_home_only_in_the_hukou_street(
    db: DuckDBBackend,
) -> None:
    person(db, "home", hukou="r1")  # r1 lies in street 001, like grid g1
    located(db, "home", "op:1", "here", (G1, C1))
    person(db, "other_street", hukou="r1", records=(("12", None, None),))
    located(db, "other_street", "op:2", "here", (G3, C3))
    person(db, "away", hukou="r1")
    located(db, "away", "op:3", "away")
    # Observed away, though social security still shows a contribution: away wins.
    person(db, "away_but_insured", hukou="r1")
    located(db, "away_but_insured", "op:4", "away")
    add_record(db, "away_but_insured", "ss:4", "social", status="正常缴费")
    assert settle(db, ["operator", "social"]) == {
        "home": "present_registered",
        "other_street": "present_resident",
        "away": "absent_registered",
        "away_but_insured": "absent_registered",
    }
    housed = db.query_df("SELECT person_id, room_id, record_id FROM lives_in")
    assert housed.to_dict("records") == [
        {"person_id": "home", "room_id": "r1", "record_id": "op:1"}
    ]
    stays = db.query_df("SELECT person_id, division_code, community_code FROM stays_in")
    assert stays.to_dict("records") == [
        {"person_id": "other_street", "division_code": G3, "community_code": C3}
    ]


def test_a_person_with_no_room_stays_in_the_unit_of_the_best_row(db: DuckDBBackend) -> None:
    person(db, "newcomer", records=(("3", None, None),))
    located(db, "newcomer", "op:1", "here", (G1, C1))
    located(db, "newcomer", "op:2", "here", (G3, C3))
    db.con.execute("UPDATE presence_places SET priority = 5 WHERE record_id = 'op:2'")
    person(db, "dead", deceased=True)
    located(db, "dead", "op:3", "here", (G1, C1))
    person(db, "housed", lives="r1")
    located(db, "housed", "op:4", "here", (G3, C3))
    assert settle(db, ["operator"]) == {
        "newcomer": "present_floating",
        "dead": "none",
        "housed": "present_resident",
    }
    stays = db.query_df("SELECT person_id, division_code, record_id FROM stays_in")
    assert stays.to_dict("records") == [
        {"person_id": "newcomer", "division_code": G3, "record_id": "op:2"}
    ]
    codes = db.query_df("SELECT person_id, live_code FROM residency ORDER BY person_id")
    assert dict(zip(codes["person_id"], codes["live_code"], strict=True))["newcomer"] == G3


def test_a_young_child_lives_at_the_hukou_room_where_its_household_lives(
    db: DuckDBBackend,
) -> None:
    person(db, "mother", lives="r1", hukou="r1", household="h1")
    person(db, "child", hukou="r1", born="2019-03-01", household="h1")  # six
    person(db, "teenager", hukou="r1", born="2010-03-01", household="h1")  # fifteen
    # The household lives in another room than the child's hukou.
    person(db, "father", lives="r2", hukou="r3", household="h2")
    person(db, "child_elsewhere", hukou="r3", born="2019-03-01", household="h2")
    # A record says the child is away.
    person(db, "child_away", hukou="r1", born="2020-03-01", household="h1")
    add_record(db, "child_away", "tz:1", "ledger", stated="人不在户在")
    # Alone in its household.
    person(db, "child_alone", hukou="r2", born="2020-03-01", household="h3")
    db.execute(child_at_home_sql(AS_OF))
    housed = db.query_df("SELECT person_id, room_id, record_id FROM lives_in ORDER BY ALL")
    assert housed.to_dict("records") == [
        {"person_id": "child", "room_id": "r1", "record_id": "child"},
        {"person_id": "father", "room_id": "r2", "record_id": "father"},
        {"person_id": "mother", "room_id": "r1", "record_id": "mother"},
    ]
    result = statuses(db)
    assert result["child"] == "present_registered"
    for absent in ("teenager", "child_elsewhere", "child_away", "child_alone"):
        assert result[absent] == "absent_registered", absent
