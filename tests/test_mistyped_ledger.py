"""A ledger that keeps only name, mistyped ID and address: its rows still find their person.

The tiny sample city is built again with its community ledger cut down to what some
street offices keep — name, ID number, address, no birth date, sex or phone — and with a
digit of many of its ID numbers mistyped (every row of the persons only the ledger knows,
and a share of the others). Each such row must join its true person, or found a person of
its own that carries the birth date and sex its ID still tells; none may join someone else,
and every input row must still be accounted for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pytest

from popbase.config import load_project
from popbase.ops.snapshot import current_snapshot
from popbase.pipeline import run
from popbase.population.mistyped_id import claimed_parts
from popbase.population.resident_id import validate_id_number
from test_pipeline import assert_every_row_accounted, base_table, edit_yaml

LEDGER = "community_ledger"
ID_SHAPE = re.compile(r"\d{17}[\dXx]")


def work_table(folder: Path, sql: str) -> pd.DataFrame:
    """Query the build's working tables (the review queue, the records as read)."""
    db = current_snapshot(load_project(folder).output_dir).work_db
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def mistype(number: str, rng: np.random.Generator) -> str:
    """One digit changed, or two neighbours swapped, as a clerk mistypes."""
    k = int(rng.integers(0, 17))
    if rng.random() < 0.7 or number[k] == number[k + 1]:
        digit = str((int(number[k]) + int(rng.integers(1, 10))) % 10)
        return number[:k] + digit + number[k + 1 :]
    return number[:k] + number[k + 1] + number[k] + number[k + 2 :]


def mistype_ledgers(folder: Path, chosen: set[str], share: float) -> dict[str, str]:
    """Mistype the ID of every ledger row in ``chosen`` and of ``share`` of the others.

    Returns the mistyped numbers by record number.
    """
    rng = np.random.default_rng(18)
    typed: dict[str, str] = {}
    for book_path in sorted((folder / "sources" / "community_ledgers").glob("*.xlsx")):
        book = openpyxl.load_workbook(book_path)
        sheet = book.active
        assert sheet is not None
        # A title row, then a two-row header: 编号 in the first, the ID under 基本信息.
        number_col = [c.value for c in sheet[2]].index("编号") + 1
        id_col = [c.value for c in sheet[3]].index("公民身份号码") + 1
        for row in range(4, sheet.max_row + 1):
            record_no = str(sheet.cell(row, number_col).value)
            cell = sheet.cell(row, id_col)
            value = str(cell.value or "")
            if record_no in typed:  # a repeated row stays an exact copy
                cell.value = typed[record_no]
            elif ID_SHAPE.fullmatch(value) and (record_no in chosen or rng.random() < share):
                cell.value = typed[record_no] = mistype(value.upper(), rng)
        book.save(book_path)
    return typed


@pytest.fixture(scope="module")
def ledger_city(copy_city: Callable[..., Path]) -> tuple[Path, dict[str, str]]:
    folder = copy_city(snapshots=False)
    for line in ("sex: 基本信息/性别", "birth_date: 基本信息/出生日期", "phone: 基本信息/联系电话"):
        edit_yaml(folder, f"      {line}\n", "")
    truth = pd.read_parquet(folder / "truth" / "records.parquet")
    sources = truth[truth["person_id"] != ""].groupby("person_id")["source"].agg(set)
    ledger_only = set(sources[sources.map(lambda s: s <= {LEDGER, "hotline"})].index)
    chosen = set(
        truth.loc[(truth["source"] == LEDGER) & truth["person_id"].isin(ledger_only), "record_no"]
    )
    typed = mistype_ledgers(folder, chosen, share=0.15)
    run(load_project(folder))
    return folder, typed


def test_every_row_is_still_accounted_for(ledger_city: tuple[Path, dict[str, str]]) -> None:
    folder, _ = ledger_city
    accounting = assert_every_row_accounted(folder)
    assert accounting[LEDGER]["rows_in"] > 0


def test_mistyped_rows_join_their_person_or_found_one(
    ledger_city: tuple[Path, dict[str, str]],
) -> None:
    folder, typed = ledger_city
    as_of = load_project(folder).config.project.as_of
    truth = pd.read_parquet(folder / "truth" / "records.parquet")
    truth = truth[truth["person_id"] != ""].drop_duplicates(["source", "record_no"])
    outcomes = work_table(
        folder,
        "SELECT o.source, r.record_no, o.outcome, o.reason, o.person_id "
        "FROM record_outcomes o JOIN person_records r USING (record_id) WHERE o.kind = 'person'",
    ).merge(truth, on=["source", "record_no"], suffixes=("", "_true"))
    # The true person behind each built person, by the records with a valid ID.
    by_id = outcomes[outcomes["person_id"].str.startswith("P", na=False)]
    true_of = by_id.groupby("person_id")["person_id_true"].agg(lambda t: t.mode().iloc[0])
    known_as = by_id.drop_duplicates("person_id_true").set_index("person_id_true")["person_id"]

    rows = outcomes[(outcomes["source"] == LEDGER) & outcomes["record_no"].isin(typed)]
    assert set(rows["record_no"]) == set(typed) and len(typed) >= 100
    joined = rows[rows["person_id"].str.startswith("P", na=False)]
    founded = rows[rows["person_id"].str.startswith("U", na=False)]
    # None joins another person.
    wrong = joined[joined["person_id"].map(true_of) != joined["person_id_true"]]
    assert wrong.empty, wrong
    # A founded person is one the build knows by no valid ID.
    assert not founded["person_id_true"].isin(known_as.index).any()
    # Persons only the ledger knows are counted now: their rows found persons.
    assert len(founded) >= 10

    # What stays in quarantine is a row whose ID tells no plausible birth date, or one
    # that waits for review or has no room.
    left = rows[rows["outcome"] == "quarantined"]
    assert (left["reason"] == "id_bad_checksum").all()
    plausible = left["record_no"].map(
        lambda n: claimed_parts(typed[n], as_of).birth_date is not None
    )
    waiting = work_table(
        folder, "SELECT r.record_no FROM review_queue q JOIN person_records r USING (record_id)"
    )["record_no"]
    roomless = work_table(
        folder,
        "SELECT r.record_no FROM person_records r LEFT JOIN record_links l "
        "ON l.record_id = r.record_id AND l.address_kind = 'residence' "
        f"WHERE r.source = '{LEDGER}' AND l.room_id IS NULL",
    )["record_no"]
    unexplained = left[
        plausible & ~left["record_no"].isin(waiting) & ~left["record_no"].isin(roomless)
    ]
    assert unexplained.empty, unexplained
    assert len(left) <= 0.1 * len(rows)


def test_a_founded_person_carries_the_birth_date_and_sex_its_id_tells(
    ledger_city: tuple[Path, dict[str, str]],
) -> None:
    folder, typed = ledger_city
    as_of = load_project(folder).config.project.as_of
    built = base_table(
        folder,
        "SELECT o.record_no, p.person_id, p.sex, strftime(p.birth_date, '%Y-%m-%d') AS born "
        "FROM record_outcomes o JOIN persons p ON p.person_id = o.person_id "
        f"WHERE o.source = '{LEDGER}' AND o.outcome = 'accepted' AND p.person_id LIKE 'U%'",
    )
    built = built[built["record_no"].isin(typed)]
    assert len(built) >= 10
    for row in built.itertuples():
        parts = claimed_parts(typed[row.record_no], as_of)
        assert parts.birth_date is not None
        assert (row.born, row.sex) == (parts.birth_date.isoformat(), parts.sex)
        # The mistyped number itself is never taken for valid.
        assert not validate_id_number(typed[row.record_no], as_of).valid
