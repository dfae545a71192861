"""Scenario extracts: a unit's persons as a CSV or XLSX file, for a stated purpose.

An extract is a list handed out of the base (an elderly-care visit round, a school
intake), so it carries no served id: each person — and each register household — is
named by a keyed HMAC pseudonym (:func:`popbase.security.pseudonym.extract_pseudonym`)
whose key comes from ``POPBASE_EXPORT_KEY`` in the server's environment and is never
stored. The persons are exactly those ``GET /api/persons?unit=…&tags=…`` lists for the
same caller, with the fields the role may export (``decide(role, class, "export")``):
whole, masked or left out. The stated purpose goes into the audit entry with the ids of
the persons exported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import Response

from popbase.api.audit import stated_purpose
from popbase.api.deps import Caller, GateDep, Served, returned
from popbase.api.disclosed import refuse_list_below_floor, unit_of
from popbase.api.gate import NOT_FOUND_RESPONSE, PERSON_FIELDS
from popbase.api.people import shaped_persons, tag_conditions
from popbase.io.xlsx import Cell, Sheet, xlsx_bytes
from popbase.security.access import TAG_DIMENSIONS, Role, decide
from popbase.security.pseudonym import EXPORT_KEY_ENV, export_key, extract_pseudonym

router = APIRouter(prefix="/api")

# An extract holds at most this many persons; a larger one is refused, never cut short.
MAX_EXTRACT_ROWS = 100_000
MIN_PURPOSE_CHARS = 4
PERSON_COLUMN = "person_pseudonym"
HOUSEHOLD_COLUMN = "household_pseudonym"
IDENTITY_FIELDS = ("name", "id_number", "phone", "birth_date")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A spreadsheet takes a text cell beginning with one of these for a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

NO_PURPOSE = (
    "state why you need this extract: send an `X-Purpose` header or a `purpose` parameter "
    f"of at least {MIN_PURPOSE_CHARS} characters (e.g. purpose=2026年高龄老人走访); "
    "it is kept in the audit trail"
)
NO_KEY = (
    f"extracts are pseudonymised with a key from the environment variable {EXPORT_KEY_ENV}, "
    "which is not set for the server. Fix: start `popbase serve` with it set, e.g. "
    f"`export {EXPORT_KEY_ENV}=$(python -c 'import secrets; print(secrets.token_hex(32))')`, "
    "and keep it in your secret store: popbase never writes it down"
)


class ExtractFormat(StrEnum):
    """File formats of an extract."""

    csv = "csv"
    xlsx = "xlsx"


def extract_columns(role: Role) -> list[str]:
    """The columns of ``role``'s extracts, in order: those of the fields it may export.

    Examples
    --------
    >>> r = Role(id="d", label="d", level="city", actions=("export",),
    ...          fields={"name": "mask", "household": "allow", "tags.health": "allow"})
    >>> extract_columns(r)
    ['person_pseudonym', 'name', 'household_pseudonym', 'relation', 'tags']
    """
    columns = [PERSON_COLUMN]
    columns += [f for f in IDENTITY_FIELDS if decide(role, f, "export") != "deny"]
    for field_class, fields in PERSON_FIELDS.items():
        if decide(role, field_class, "export") == "allow":
            columns += [HOUSEHOLD_COLUMN if f == "household_id" else f for f in fields]
    if any(decide(role, f"tags.{d}", "export") == "allow" for d in TAG_DIMENSIONS):
        columns.append("tags")
    return columns


def cell(value: Any) -> Cell:
    """A value as a spreadsheet cell: text, a number or None (empty).

    Examples
    --------
    >>> cell(3), cell(None), cell("李*梅"), cell(True)
    (3, None, '李*梅', 'True')
    """
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return str(value)


def extract_row(person: dict[str, Any], columns: Sequence[str], key: str) -> list[Cell]:
    """One person's row: served ids replaced by pseudonyms, tags as ``a;b``, by ``columns``.

    Examples
    --------
    >>> row = extract_row(
    ...     {"person_id": "P1", "sex": "F", "household_id": None,
    ...      "tags": [{"tag": "elderly"}, {"tag": "disabled"}, {"tag": "elderly"}]},
    ...     ["sex", "household_pseudonym", "tags"], "k")
    >>> row
    ['F', None, 'disabled;elderly']
    """
    household = person.get("household_id")
    values = {
        **person,
        PERSON_COLUMN: extract_pseudonym("person", person["person_id"], key),
        HOUSEHOLD_COLUMN: extract_pseudonym("household", household, key) if household else None,
        "tags": ";".join(sorted({t["tag"] for t in person.get("tags", [])})),
    }
    return [cell(values.get(c)) for c in columns]


def csv_text(value: Cell) -> Cell:
    """A text cell that a spreadsheet would take for a formula, quoted with ``'``.

    Examples
    --------
    >>> csv_text("=HYPERLINK(1)"), csv_text("王*明"), csv_text(-3)
    ("'=HYPERLINK(1)", '王*明', -3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    r"""A CSV file of ``rows`` under a header of ``columns``: UTF-8 with a BOM, CRLF lines.

    The byte-order mark makes Excel read the Chinese text as UTF-8.

    Examples
    --------
    >>> csv_bytes(["name", "age"], [["李*梅", 28], [None, 3]]).decode("utf-8-sig")
    'name,age\r\n李*梅,28\r\n,3\r\n'
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([csv_text(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def extract_file(
    columns: Sequence[str], rows: Sequence[Sequence[Cell]], file_format: ExtractFormat
) -> tuple[bytes, str]:
    """An extract's file and its media type: a CSV, or a workbook of one sheet.

    Both hold the same table: a header row of ``columns``, then ``rows``.
    """
    if file_format is ExtractFormat.xlsx:
        return xlsx_bytes([Sheet("extract", rows, header=[list(columns)])]), XLSX_TYPE
    return csv_bytes(columns, rows), CSV_TYPE


def file_name(unit: str, today: dt.date, extension: str) -> str:
    """The file name an extract is saved under.

    Examples
    --------
    >>> file_name("310112001", dt.date(2026, 11, 26), "csv")
    'extract-310112001-2026-11-26.csv'
    """
    return f"extract-{unit}-{today.isoformat()}.{extension}"


def _too_many(count: int) -> HTTPException:
    return HTTPException(
        422,
        f"the extract would hold {count:,} persons, more than the {MAX_EXTRACT_ROWS:,} one "
        "extract may hold; narrow it to a smaller unit or add tags",
    )


@router.get(
    "/extracts",
    response_class=Response,
    responses={
        **NOT_FOUND_RESPONSE,
        200: {"content": {"text/csv": {}, XLSX_TYPE: {}}, "description": "The extract file"},
        422: {"description": "No purpose stated, an unknown tag, or too many persons"},
        503: {"description": f"{EXPORT_KEY_ENV} is not set, or no build has succeeded yet"},
    },
)
def extract(
    request: Request,
    served: Served,
    gate: GateDep,
    principal: Caller,
    unit: Annotated[str, Query(description="The unit the extract covers (a division code)")],
    tags: Annotated[str | None, Query(description="Comma-separated tags, all required")] = None,
    file_format: Annotated[
        ExtractFormat, Query(alias="format", description="csv or xlsx")
    ] = ExtractFormat.csv,
    purpose: Annotated[
        str | None, Query(description="Why the extract is needed (or the X-Purpose header)")
    ] = None,
    x_purpose: Annotated[str | None, Header(description="Why the extract is needed")] = None,
) -> Response:
    """The persons living in a unit of your jurisdiction, as a CSV or XLSX file.

    Persons are named by pseudonyms, with the fields your role may export; the stated
    purpose is audited with the ids of the persons exported.
    """
    who = gate.require(principal, "export")
    if len(stated_purpose(x_purpose, purpose)) < MIN_PURPOSE_CHARS:
        raise HTTPException(422, NO_PURPOSE)
    key = export_key()
    if key is None:
        raise HTTPException(503, NO_KEY)
    tag_sql, tag_params = tag_conditions(who, [t for t in (tags or "").split(",") if t], served)
    unit_of(served, who, unit)
    refuse_list_below_floor(who, unit, "extract")
    where = f"starts_with(p.division_code, ?) AND {tag_sql}"
    params = [unit, *tag_params]
    scope, scope_params = gate.person_scope(who)
    [counted] = served.query(
        f"SELECT count(*) AS n FROM person_cards p WHERE {where} AND {scope}",
        [*params, *scope_params],
    )
    if counted["n"] > MAX_EXTRACT_ROWS:
        raise _too_many(int(counted["n"]))
    persons = shaped_persons(served, gate, who, where, params, MAX_EXTRACT_ROWS, "export")
    columns = extract_columns(who.role)
    rows = [extract_row(p, columns, key) for p in persons]
    returned(request, [p["person_id"] for p in persons])
    request.state.audit_params = {"rows": len(rows)}
    body, media_type = extract_file(columns, rows, file_format)
    name = file_name(unit, dt.date.today(), file_format.value)
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
