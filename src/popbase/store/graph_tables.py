"""What each node and relationship table of the graph is loaded from.

Pure SQL, one query per node label and per (relationship, from, to) pair of
:mod:`popbase.store.graph`, run by the publish stage with the served tables attached as
``served``. Each query's columns follow the label's properties in order (for
relationships: the two end keys, then the properties), which is how the graph store's
bulk load reads them.
"""

from __future__ import annotations

from popbase.analysis.measures import MEASURES

_COUNTS = ", ".join((*MEASURES, "households"))
_DIVISIONS = "SELECT code FROM served.units WHERE level <> 'grid'"
_GRIDS = "SELECT code FROM served.units WHERE level = 'grid'"

NODE_SQL: dict[str, str] = {
    "Division": f"""
        SELECT code, name, level, parent_code, {_COUNTS}, code AS division_code
        FROM served.units WHERE level <> 'grid'
    """,
    "Grid": f"""
        SELECT code, name, parent_code, {_COUNTS}, code AS division_code
        FROM served.units WHERE level = 'grid'
    """,
    "Building": """
        SELECT building_id, address, use, CAST(floors AS BIGINT), resident,
               CAST(lon AS DOUBLE), CAST(lat AS DOUBLE), division_code
        FROM served.buildings
    """,
    "Room": """
        SELECT room_id, room_no, CAST(floor AS BIGINT), origin, division_code
        FROM served.rooms
    """,
    "Household": """
        SELECT h.household_id, h.members, h.head_person_id, r.division_code
        FROM households h LEFT JOIN served.rooms r USING (room_id)
    """,
    "Person": """
        SELECT person_id, sex, birth_date, status = 'deceased', residency_status, division_code
        FROM served.persons
    """,
    # Employers registered elsewhere are enterprises too: known by code and name only.
    "Enterprise": """
        SELECT e.credit_code, e.name, e.industry, e.status, true, b.division_code
        FROM enterprises e LEFT JOIN served.buildings b USING (building_id)
        UNION ALL
        SELECT credit_code, min(employer_name), NULL, NULL, false, NULL
        FROM works_at WHERE NOT registered GROUP BY credit_code
    """,
    "Facility": """
        SELECT f.facility_id, f.name, f.type, CAST(f.capacity AS BIGINT),
               CAST(f.lon AS DOUBLE), CAST(f.lat AS DOUBLE), b.division_code
        FROM facilities f LEFT JOIN served.buildings b USING (building_id)
    """,
    "Tag": "SELECT tag, label, label_en, dimension FROM served.tags",
}

EDGE_SQL: dict[tuple[str, str, str], str] = {
    ("PART_OF", "Division", "Division"): f"""
        SELECT code, parent_code FROM served.units
        WHERE level <> 'grid' AND parent_code IN ({_DIVISIONS})
    """,
    ("PART_OF", "Grid", "Division"): f"""
        SELECT code, parent_code FROM served.units
        WHERE level = 'grid' AND parent_code IN ({_DIVISIONS})
    """,
    ("PART_OF", "Building", "Division"): f"""
        SELECT building_id, community_code FROM served.buildings
        WHERE community_code IN ({_DIVISIONS})
    """,
    ("IN_GRID", "Building", "Grid"): f"""
        SELECT building_id, grid_code FROM served.buildings WHERE grid_code IN ({_GRIDS})
    """,
    ("IN_BUILDING", "Room", "Building"): "SELECT room_id, building_id FROM served.rooms",
    ("LIVES_IN", "Person", "Room"): """
        SELECT l.person_id, l.room_id, l.source, CAST(l.as_of AS DATE)
        FROM lives_in l JOIN served.rooms USING (room_id)
    """,
    ("STAYS_IN", "Person", "Grid"): f"""
        SELECT s.person_id, s.division_code, s.source, CAST(s.as_of AS DATE)
        FROM stays_in s WHERE s.division_code IN ({_GRIDS})
    """,
    ("STAYS_IN", "Person", "Division"): f"""
        SELECT s.person_id, s.division_code, s.source, CAST(s.as_of AS DATE)
        FROM stays_in s
        WHERE s.division_code NOT IN ({_GRIDS}) AND s.division_code IN ({_DIVISIONS})
    """,
    ("HUKOU_AT", "Person", "Room"): """
        SELECT h.person_id, h.room_id, h.source, CAST(h.as_of AS DATE)
        FROM hukou_at h JOIN served.rooms USING (room_id)
    """,
    # A household's register room; its id begins with the register it comes from.
    ("HUKOU_AT", "Household", "Room"): """
        SELECT h.household_id, h.room_id, split_part(h.household_id, ':', 1),
               CAST(NULL AS DATE)
        FROM households h JOIN served.rooms USING (room_id)
    """,
    ("WORKS_AT", "Person", "Enterprise"): """
        SELECT w.person_id, w.credit_code, w.employer_name, w.source, CAST(w.as_of AS DATE)
        FROM works_at w JOIN served.persons USING (person_id)
    """,
    ("LOCATED_IN", "Enterprise", "Building"): """
        SELECT credit_code, building_id FROM enterprises
        WHERE building_id IN (SELECT building_id FROM served.buildings)
    """,
    ("LOCATED_IN", "Facility", "Building"): """
        SELECT facility_id, building_id FROM facilities
        WHERE building_id IN (SELECT building_id FROM served.buildings)
    """,
    ("MEMBER_OF", "Person", "Household"): """
        SELECT m.person_id, m.household_id, m.relation, m.source, CAST(m.as_of AS DATE)
        FROM member_of m JOIN served.persons USING (person_id)
    """,
    ("HAS_TAG", "Person", "Tag"): """
        SELECT t.person_id, t.tag, t.source, t.valid_from, t.valid_to
        FROM served.person_tags t JOIN served.persons USING (person_id)
    """,
}
