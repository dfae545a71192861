"""Probabilistic resolution: records without a reliable ID number, linked to known persons.

A hotline ticket has a caller's name, phone and address but no ID number; a community
ledger row may carry an ID with one digit mistyped. Such rows are set aside by the
validate stage. Here each is compared with the records of the persons already resolved
by ID (a Fellegi–Sunter model in Splink, DuckDB backend) on what suits Chinese records:

- the name as characters (same name; one character different) and as sound (同音: the
  same pinyin), and the surname alone — which is all a ticket's 王先生 gives;
- the ID number: one digit or two neighbours off a known person's valid number with the
  name and birth date agreeing (a typo of that person's number: strong), within one or
  two edits otherwise, or only the same area code;
- the birth date, the mobile number, and the room the record's address was matched to
  (same room, same building).

A row without its own sex or birth date takes those its mistyped ID still tells, and the
ID's area code, where plausible (``claimed_id_parts``; see
:mod:`popbase.population.mistyped_id`): a ledger that keeps only name, ID and address
still gives a birth date to compare. They are compared, never made an identity.

Pairs come only from blocks that a true match shares (the same phone; name and birth
date; the first fourteen or the last twelve characters of the ID; surname and the ID's
last four; surname and room), so the comparisons stay few. The model learns ``u`` from
random pairs and ``m`` by expectation maximisation, each on a bounded sample of pairs
(``resolution.training_pairs``), so training does not dominate the run. The prior that
two random records match is one over the number of known persons: an unknown record
belongs to at most one of them.

A record belongs to at most one known person, so its candidates are weighed against each
other (see :func:`decide`). A record joins its best person when that probability
reaches ``match_threshold``; it leaves quarantine and becomes one of the person's
records. A record whose best person lies between ``review_threshold`` and
``match_threshold`` — a weak match, or one that two persons claim — goes to the
``review_queue`` (and stays in quarantine until a reviewer decides); the rest stay in
quarantine with their ID reason.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pypinyin import Style, pinyin

from popbase.population.person_name import normalize_names
from popbase.population.resident_id import ID_REASONS
from popbase.values.dates import iso_date_sql

if TYPE_CHECKING:
    from popbase.config import ResolutionConfig
    from popbase.context import BuildContext

# A caller named only by surname and a form of address (王先生, 李女士).
POLITE_FORMS = {"先生": "M", "女士": "F", "小姐": "F", "阿姨": "F", "师傅": None}
DECISIONS = pa.schema(
    [
        ("record_id", pa.string()),
        ("person_id", pa.string()),
        ("match_probability", pa.float64()),
        ("pair_probability", pa.float64()),
        ("runner_up_person_id", pa.string()),
        ("runner_up_probability", pa.float64()),
        ("decision", pa.string()),
    ]
)
DECISION_COLUMNS: list[str] = list(DECISIONS.names)
# The record ids of person rows set aside for their ID number.
UNKNOWN_IDS = "SELECT record_id FROM quarantine WHERE stage = 'validate' AND reason IN ({})".format(
    ", ".join(f"'{r}'" for r in ID_REASONS)
)
# Pairs less probable than this weigh too little against a record's best candidate.
PAIR_FLOOR = 0.01
# Blocks on parts of the ID number, with the name where a part alone pairs too many:
# between them, every single wrong digit and swap of neighbours shares one (see
# :func:`_settings`).
ID_BLOCKS: tuple[tuple[str, ...], ...] = (
    ("substr(id_number, 1, 14)",),
    ("substr(id_number, 7, 12)",),
    ("name", "substr(id_number, 1, 6)"),
    ("surname", "substr(id_number, 15, 4)"),
)
# Two ID numbers of one length one edit apart: one digit changed or two neighbours swapped.
ONE_TYPO_APART = (
    "length(id_number_l) = length(id_number_r) "
    "AND damerau_levenshtein(id_number_l, id_number_r) = 1"
)


def phone_sql(column: str) -> str:
    """SQL: the 11-digit mobile number in a phone field (+86 and separators dropped)."""
    digits = f"regexp_replace(coalesce({column}, ''), '[^0-9]', '', 'g')"
    return f"nullif(CASE WHEN length({digits}) >= 11 THEN right({digits}, 11) END, '')"


def unknown_records_sql() -> str:
    """Person rows set aside for their ID number, with their residence link.

    Sex and birth date are the row's own; where it has none, those its mistyped ID still
    tells (``claimed_id_parts``), then for the sex the form of address of its name (see
    :func:`name_forms`). The area code is the mistyped ID's, where plausible.
    """
    return f"""
        SELECT DISTINCT ON (r.record_id)
               r.record_id AS unique_id, CAST(NULL AS VARCHAR) AS person_id,
               f.name, f.surname, f.name_sound,
               coalesce(r.sex, c.id_claimed_sex, f.sex) AS sex,
               nullif(upper(regexp_replace(coalesce(r.id_number, ''), '\\s', '', 'g')), '')
                   AS id_number,
               c.id_claimed_area_code AS area_code,
               strftime(
                   coalesce({iso_date_sql("r.birth_date")}, c.id_claimed_birth_date), '%Y-%m-%d'
               ) AS birth_date,
               {phone_sql("r.phone")} AS phone, l.room_id, l.building_id
        FROM person_records r
        LEFT JOIN claimed_id_parts c USING (record_id)
        LEFT JOIN name_forms f ON f.raw = r.name
        LEFT JOIN record_links l ON l.record_id = r.record_id AND l.address_kind = 'residence'
        WHERE r.record_id IN ({UNKNOWN_IDS})
        ORDER BY r.record_id
    """


def known_records_sql() -> str:
    """What the persons resolved by ID are known by: one row per distinct combination."""
    return f"""
        SELECT 'k' || row_number() OVER (
                   ORDER BY person_id, name, id_number, birth_date, phone, room_id, building_id
               ) AS unique_id, *
        FROM (
            SELECT DISTINCT k.person_id, f.name, f.surname, f.name_sound, r.id_sex AS sex,
                   k.id18 AS id_number, left(k.id18, 6) AS area_code,
                   strftime(r.id_birth_date, '%Y-%m-%d') AS birth_date,
                   {phone_sql("r.phone")} AS phone, l.room_id, l.building_id
            FROM person_records_valid r
            JOIN person_keys k USING (record_id)
            LEFT JOIN name_forms f ON f.raw = r.name
            LEFT JOIN record_links l
                ON l.record_id = r.record_id AND l.address_kind = 'residence'
        )
        -- A fixed order and fixed ids: the model's samples, so its decisions, repeat.
        ORDER BY person_id, name, id_number, birth_date, phone, room_id, building_id
    """


def _sound_table(names: pd.Series) -> dict[int, str]:
    """A ``str.translate`` table: each character of the names to its pinyin (no tones)."""
    chars = sorted(set("".join(names.dropna().astype(str).unique())))
    readings = pinyin(chars, style=Style.NORMAL, errors="default")
    return {ord(c): r[0] + " " for c, r in zip(chars, readings, strict=True)}


def name_forms(names: pd.Series) -> pd.DataFrame:
    """Each distinct name as written (``raw``) normalised, with its surname and its sound.

    A name of surname + form of address (王先生) keeps only its surname, and gives the sex.

    Examples
    --------
    >>> forms = name_forms(pd.Series(["王先生", "张 三", "张三"]))
    >>> forms[["name", "surname", "name_sound", "sex"]].values.tolist()
    [[None, '王', None, 'M'], ['张三', '张', 'zhang san', None], ['张三', '张', 'zhang san', None]]
    """
    raw = pd.Series(names.dropna().astype(str).unique(), dtype=object)
    name = normalize_names(raw)["name_norm"]
    polite = name.str.len().eq(3) & name.str[1:].isin(list(POLITE_FORMS))
    sound = _sound_table(name)
    out = pd.DataFrame(
        {
            "raw": raw,
            "name": name.where(~polite & name.str.len().gt(0)),
            "surname": name.str[:1].where(name.str.len() > 0),
            "name_sound": None,
            "sex": name.str[1:].map(POLITE_FORMS).where(polite),
        },
        dtype=object,
    )
    out["name_sound"] = [
        n.translate(sound).strip() if isinstance(n, str) else None for n in out["name"]
    ]
    return out.astype(object).where(out.notna(), None)


def _settings(persons: int, resolution: ResolutionConfig) -> Any:
    """The Splink model: comparisons, blocking rules and the prior."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("surname"),
            cll.ExactMatchLevel("name"),
            cll.CustomLevel("name_sound_l = name_sound_r", "same sound"),
            cll.CustomLevel(
                "surname_l = surname_r AND damerau_levenshtein(name_l, name_r) <= 1",
                "one character differs",
            ),
            cll.CustomLevel("surname_l = surname_r", "same surname"),
            cll.ElseLevel(),
        ],
    )
    id_number = cl.CustomComparison(
        output_column_name="id_number",
        comparison_levels=[
            cll.NullLevel("id_number"),
            # GB 11643's check catches every single wrong digit and swap of neighbours, so
            # a failing number this close to a known valid one is most likely its typo;
            # with name and birth date agreeing, it is not a relative's number.
            cll.CustomLevel(
                f"{ONE_TYPO_APART} AND birth_date_l = birth_date_r "
                "AND (name_l = name_r OR name_sound_l = name_sound_r)",
                "a typo of the number, same name and birth date",
            ),
            cll.DamerauLevenshteinLevel("id_number", 1),
            cll.DamerauLevenshteinLevel("id_number", 2),
            cll.CustomLevel("area_code_l = area_code_r", "same area code"),
            cll.ElseLevel(),
        ],
    )
    birth_date = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date"),
            cll.DamerauLevenshteinLevel("birth_date", 1),
            cll.ElseLevel(),
        ],
    )
    room = cl.CustomComparison(
        output_column_name="room",
        comparison_levels=[
            cll.NullLevel("building_id"),
            cll.ExactMatchLevel("room_id"),
            cll.ExactMatchLevel("building_id"),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=1.0 / max(persons, 2),
        comparisons=[
            name,
            cl.ExactMatch("sex"),
            id_number,
            birth_date,
            cl.ExactMatch("phone"),
            room,
        ],
        # One mistyped digit leaves the area code and birth date (the first fourteen
        # characters) or the birth date and sequence (the last twelve) intact, or, when it
        # falls in the birth date, the area code beside the name; a typo across the area
        # code and the birth date (two neighbours swapped) leaves the sequence and check
        # (the last four), beside the surname. The sound finds 周倩燕 for 周倩艳. A name
        # alone is no block: at a million persons it pairs each row with hundreds, and a
        # name alone never reaches the review band.
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("name_sound", "birth_date"),
            *(block_on(*keys) for keys in ID_BLOCKS),
            block_on("surname", "room_id"),
            block_on("name", "building_id"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        # sex and birth date: kept for :func:`relatives`.
        additional_columns_to_retain=["person_id", "sex", "birth_date"],
    )


# Columns whose exact-match level's u is counted, not sampled (see :func:`exact_u`).
EXACT_COLUMNS = ("name", "name_sound", "sex", "birth_date", "phone", "room_id", "building_id")


def equal_share(
    con: duckdb.DuckDBPyConnection, left: pa.Table, right: pa.Table, column: str
) -> float:
    """The share of left × right pairs, both values present, whose ``column`` is equal.

    Counted from the values' frequencies on each side, so it is exact however rare.
    """
    con.register("__left", left.select([column]))
    con.register("__right", right.select([column]))
    try:
        row = con.execute(
            f"""
            WITH l AS (SELECT {column} AS v, count(*) AS n FROM __left
                       WHERE {column} IS NOT NULL GROUP BY 1),
                 r AS (SELECT {column} AS v, count(*) AS n FROM __right
                       WHERE {column} IS NOT NULL GROUP BY 1)
            SELECT (SELECT sum(l.n * r.n) FROM l JOIN r USING (v)),
                   (SELECT sum(n) FROM l), (SELECT sum(n) FROM r)
            """
        ).fetchone()
    finally:
        con.unregister("__left")
        con.unregister("__right")
    same, n_left, n_right = (float(x or 0) for x in (row or (0, 0, 0)))
    return same / (n_left * n_right) if n_left and n_right else 0.0


def exact_u(model: dict[str, Any], share: dict[str, float], sampled_pairs: float) -> None:
    """Set ``u`` of exact-match levels from counted shares; floor the rest ``model`` lacks.

    Random pairs seldom share a phone or a room in a city of a million (u near 1e-6): a
    sample of a million pairs finds none, and Splink would fall back to a default. The
    exact share is counted instead; a level below an exact one gets the difference (same
    sound but not the same name; same building but not the same room). A level no sampled
    pair showed and none counted gets the bound a sample of that size allows.
    """
    floor = 1.0 / sampled_pairs
    below = {"name_sound": "name", "building_id": "room_id"}
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            sql = str(level.get("sql_condition", ""))
            column = next(
                (c for c in EXACT_COLUMNS if sql.replace('"', "") == f"{c}_l = {c}_r"), None
            )
            if column is not None:
                u = share[column] - share.get(below.get(column, ""), 0.0)
                level["u_probability"] = max(u, floor)
            elif level.get("u_probability") is None:
                level["u_probability"] = floor


def predict_pairs(unknown: pa.Table, known: pa.Table, resolution: ResolutionConfig) -> pd.DataFrame:
    """Scored pairs ``record_id, person_id, pair_probability`` (above :data:`PAIR_FLOOR`).

    Runs in its own in-memory DuckDB so the model's working tables never reach the build.
    """
    from splink import Linker, block_on
    from splink.backends.duckdb import DuckDBAPI
    from splink.internals.exceptions import EMTrainingException

    empty = pd.DataFrame(
        {"record_id": pd.Series(dtype=object), "person_id": pd.Series(dtype=object),
         "pair_probability": pd.Series(dtype=float)}
    )  # fmt: skip
    if unknown.num_rows == 0 or known.num_rows == 0:
        return empty
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        api = DuckDBAPI(connection=con)
        left = api.register(unknown, dataset_display_name="unknown")
        right = api.register(known, dataset_display_name="known")
        persons = int(pc.count_distinct(known["person_id"]).as_py())
        linker = Linker([left, right], _settings(persons, resolution), log_level=logging.ERROR)
        pairs = float(resolution.training_pairs)
        linker.training.estimate_u_using_random_sampling(max_pairs=pairs, seed=1, num_chunks=1)
        model = linker.misc.save_model_to_json()
        exact_u(model, {c: equal_share(con, unknown, known, c) for c in EXACT_COLUMNS}, pairs)
        linker = Linker([left, right], model, log_level=logging.ERROR)
        # m of every comparison from blocks that leave it free: phone leaves name, ID, birth
        # date and room; name + birth date leaves phone. A level no training pair shows
        # keeps Splink's prior (m = 0.95 for the exact level, the rest shared).
        for rule in (block_on("phone"), block_on("name", "birth_date")):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, max_pairs=pairs
                )
            except EMTrainingException:
                continue  # no pair in this block (a small delivery): the other block trains
        scored = linker.inference.predict(
            threshold_match_probability=PAIR_FLOOR
        ).as_pandas_dataframe()  # type: ignore[no-untyped-call]
    finally:
        con.close()
    if scored.empty:
        return empty
    scored = scored[~relatives(scored)]
    # Either side of a pair may be the unknown record: Splink orders them by dataset name.
    unknown_left = scored["source_dataset_l"] == "unknown"
    return pd.DataFrame(
        {
            "record_id": scored["unique_id_l"].where(unknown_left, scored["unique_id_r"]),
            "person_id": scored["person_id_r"].where(unknown_left, scored["person_id_l"]),
            "pair_probability": scored["match_probability"].astype(float),
        }
    )


def relatives(scored: pd.DataFrame) -> pd.Series:
    """Pairs that state another sex and another birth date: two persons, however alike.

    A family shares its surname, room, phone and often a given-name character; a model
    trained on a small delivery may weigh those above what tells a mother from her son.
    Where both rows state a sex and a birth date and neither agrees, they are not one
    person (one mistyped ID digit cannot change both).

    Examples
    --------
    >>> pairs = pd.DataFrame({"sex_l": ["M", "M", "F"], "sex_r": ["F", "F", "F"],
    ...     "birth_date_l": ["2024-09-02", "1995-02-11", "1990-01-01"],
    ...     "birth_date_r": ["1995-02-11", "1995-02-11", "1990-01-02"]})
    >>> relatives(pairs).tolist()
    [True, False, False]
    """
    columns = ["sex_l", "sex_r", "birth_date_l", "birth_date_r"]
    if not set(columns) <= set(scored.columns):
        return pd.Series(False, index=scored.index)
    stated = scored[columns].notna().all(axis=1)
    differ = (scored["sex_l"] != scored["sex_r"]) & (
        scored["birth_date_l"] != scored["birth_date_r"]
    )
    return stated & differ


def decide(pairs: pd.DataFrame, resolution: ResolutionConfig) -> pd.DataFrame:
    """Per record: its best person, the runner-up, and ``linked`` or ``review``.

    A record belongs to at most one known person, so the pair probabilities of its
    candidates are weighed against each other: with odds ``o = p / (1 - p)`` per person,
    the best person's probability is ``o_best / (1 + sum(o))``. That decides: linked at
    ``match_threshold``, for review at ``review_threshold``; below, the record is left out.

    Examples
    --------
    >>> from popbase.config import ResolutionConfig
    >>> p = pd.DataFrame({"record_id": ["a", "a", "b", "c", "c", "d", "d"],
    ...                   "person_id": ["P1", "P1", "P2", "P3", "P4", "P5", "P6"],
    ...                   "pair_probability": [0.95, 0.999, 0.7, 0.97, 0.9, 0.999, 0.6]})
    >>> out = decide(p, ResolutionConfig())
    >>> out[["record_id", "person_id", "decision"]].values.tolist()
    [['a', 'P1', 'linked'], ['b', 'P2', 'review'], ['c', 'P3', 'review'], ['d', 'P5', 'linked']]
    """
    best = pairs.groupby(["record_id", "person_id"])["pair_probability"].max().reset_index()
    best = best.sort_values(
        ["record_id", "pair_probability", "person_id"], ascending=[True, False, True]
    )
    p = best["pair_probability"].clip(upper=1 - 1e-12)
    odds = p / (1 - p)
    total = odds.groupby(best["record_id"]).transform("sum")
    best["match_probability"] = odds / (1 + total)
    rank = best.groupby("record_id").cumcount()
    out = best[rank == 0].set_index("record_id")
    second = best[rank == 1].set_index("record_id")
    out["runner_up_person_id"] = second["person_id"].reindex(out.index)
    out["runner_up_probability"] = second["pair_probability"].reindex(out.index)
    out = out[out["match_probability"] >= resolution.review_threshold]
    linked = out["match_probability"] >= resolution.match_threshold
    out["decision"] = linked.map({True: "linked", False: "review"})
    decided: pd.DataFrame = out.reset_index()[DECISION_COLUMNS]
    return decided


def admit_records_sql(keys: str) -> list[str]:
    """Statements that make quarantined rows records of the persons ``keys`` gives them.

    ``keys`` selects ``record_id, person_id``. The rows join ``person_records_valid``
    (without ID facts, with what a mistyped ID still tells, the name as the model read
    it) and ``person_keys``, and leave the quarantine.
    """
    records = f"SELECT record_id FROM ({keys})"
    return [
        f"""
        INSERT INTO person_records_valid BY NAME
        SELECT r.*, CAST(NULL AS VARCHAR) AS id18, r.sex AS sex_norm,
               {iso_date_sql("r.birth_date")} AS birth_date_norm,
               false AS id_historical_area, false AS id_upgraded,
               false AS id_unrecognised_area,
               c.id_claimed_sex, c.id_claimed_birth_date, c.id_claimed_area_code
        FROM person_records r LEFT JOIN claimed_id_parts c USING (record_id)
        WHERE r.record_id IN ({records})
        """,
        # The name as read for the model (normalised; 王先生 kept as written).
        f"UPDATE person_records_valid SET name = f.name FROM name_forms f "
        f"WHERE person_records_valid.name = f.raw AND f.name IS NOT NULL "
        f"AND person_records_valid.record_id IN ({records})",
        f"INSERT INTO person_keys BY NAME SELECT record_id, CAST(NULL AS VARCHAR) AS id18, "
        f"person_id FROM ({keys})",
        f"DELETE FROM quarantine WHERE stage = 'validate' AND record_id IN ({records})",
    ]


def link_unknown_records(ctx: BuildContext) -> dict[str, int]:
    """Link the records without a reliable ID; fill ``probable_links`` and ``review_queue``.

    Linked records are added to ``person_records_valid`` (without ID facts) and to
    ``person_keys``, and their quarantine entries are removed.
    """
    db = ctx.db
    resolution = ctx.project.config.resolution
    forms = name_forms(
        db.query_df(
            f"SELECT DISTINCT name FROM person_records WHERE record_id IN ({UNKNOWN_IDS}) "
            "UNION SELECT DISTINCT name FROM person_records_valid"
        )["name"]
    )
    db.put("name_forms", forms)
    unknown = db.query_arrow(unknown_records_sql())
    candidates = unknown.num_rows
    decided = pd.DataFrame(columns=DECISION_COLUMNS)
    if resolution.probabilistic and candidates:
        pairs = predict_pairs(unknown, db.query_arrow(known_records_sql()), resolution)
        if not pairs.empty:
            decided = decide(pairs, resolution)
    db.put("probable_links", pa.Table.from_pandas(decided, DECISIONS, preserve_index=False))
    db.execute(
        """
        CREATE OR REPLACE TABLE review_queue AS
        SELECT r.source, r.file, r.row_number, p.record_id, q.reason AS quarantine_reason,
               r.name, r.residence_address, p.person_id AS candidate_person_id,
               p.match_probability, p.pair_probability, p.runner_up_person_id,
               p.runner_up_probability
        FROM probable_links p
        JOIN person_records r USING (record_id)
        JOIN quarantine q ON q.record_id = p.record_id AND q.stage = 'validate'
        WHERE p.decision = 'review'
        ORDER BY p.match_probability DESC, p.record_id
        """
    )
    for sql in admit_records_sql(
        "SELECT record_id, person_id FROM probable_links WHERE decision = 'linked'"
    ):
        db.execute(sql)
    counts = decided["decision"].value_counts()
    return {
        "records_without_id": candidates,
        "records_linked_probabilistically": int(counts.get("linked", 0)),
        "records_for_review": int(counts.get("review", 0)),
    }
