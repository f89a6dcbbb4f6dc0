"""The invariant checker: SQL over the whole database, as its owner (no row-level security).

``always_violations`` are the rules that hold for any data at all (the database itself enforces
them since migration 0011); the suite checks them after every test that touched the database
(tests/conftest.py). ``violations`` adds the rules that hold for data made only through the
services, which the concurrency tests build: every home's free places are its registered places
less its live placements, no more places promised to accepted offers than are free, every referral's
history a legal path ending in its status, and no open offer for a child who is already placed.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from commissioning.lifecycle import TRANSITIONS

HOLDING = "('sent', 'accepted')"

ALWAYS = {
    "child with two open offers": f"""
        SELECT r.child_id, COUNT(*) FROM matching_offer o JOIN referral r ON r.id = o.referral_id
        WHERE o.status IN {HOLDING} GROUP BY r.child_id HAVING COUNT(*) > 1""",
    "referral with two open offers": f"""
        SELECT referral_id, COUNT(*) FROM matching_offer WHERE status IN {HOLDING}
        GROUP BY referral_id HAVING COUNT(*) > 1""",
    "child with two live placements": """
        SELECT child_id, COUNT(*) FROM placement WHERE end_date IS NULL GROUP BY child_id HAVING COUNT(*) > 1""",
    "referral with two live placements": """
        SELECT referral_id, COUNT(*) FROM placement WHERE end_date IS NULL
        GROUP BY referral_id HAVING COUNT(*) > 1""",
    "negative free places": "SELECT home_id, places_free FROM vacancy WHERE places_free < 0",
    "placement ending before it starts": "SELECT id, start_date, end_date FROM placement WHERE end_date < start_date",
}

_LEGAL_MOVES = ", ".join(f"'{a}>{b}'" for a, targets in TRANSITIONS.items() for b in sorted(targets))

SERVICE_DATA = {
    "free places not registered less live placements": """
        SELECT h.id, h.registered_places, v.places_free,
               (SELECT COUNT(*) FROM placement p WHERE p.home_id = h.id AND p.end_date IS NULL) AS live
        FROM home h JOIN vacancy v ON v.home_id = h.id
        WHERE v.places_free <> h.registered_places
              - (SELECT COUNT(*) FROM placement p WHERE p.home_id = h.id AND p.end_date IS NULL)""",
    "more places promised to accepted offers than free": """
        SELECT v.home_id, v.places_free, COUNT(o.id) FROM vacancy v
        JOIN matching_offer o ON o.home_id = v.home_id AND o.status = 'accepted'
        GROUP BY v.home_id, v.places_free HAVING COUNT(o.id) > v.places_free""",
    "open offer for a child already placed": f"""
        SELECT o.id, r.child_id FROM matching_offer o JOIN referral r ON r.id = o.referral_id
        JOIN placement p ON p.child_id = r.child_id AND p.end_date IS NULL
        WHERE o.status IN {HOLDING}""",
    "live placement for a referral that is not placed": """
        SELECT p.id, r.status FROM placement p JOIN referral r ON r.id = p.referral_id
        WHERE p.end_date IS NULL AND r.status <> 'placed'""",
    "referral history with an illegal step": f"""
        SELECT referral_id, from_status, to_status, previous FROM (
            SELECT referral_id, from_status, to_status,
                   LAG(to_status) OVER (PARTITION BY referral_id ORDER BY id) AS previous
            FROM referral_event) steps
        WHERE (previous IS NOT NULL AND (from_status IS NULL OR from_status <> previous))
           OR (from_status IS NOT NULL AND from_status || '>' || to_status NOT IN ({_LEGAL_MOVES}))""",
    "referral whose history does not end in its status": """
        SELECT r.id, r.status, e.to_status FROM referral r
        JOIN referral_event e ON e.id = (SELECT MAX(id) FROM referral_event WHERE referral_id = r.id)
        WHERE e.to_status <> r.status""",
}


def _check(connection: Connection, rules: dict[str, str]) -> list[str]:
    found = []
    for rule, sql in rules.items():
        rows = connection.execute(text(sql)).all()
        found.extend(f"{rule}: {tuple(row)}" for row in rows[:5])
        if len(rows) > 5:
            found.append(f"{rule}: and {len(rows) - 5} more")
    return found


def always_violations(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return _check(connection, ALWAYS)


def violations(engine: Engine) -> list[str]:
    """Every rule broken anywhere in the database, as lines of text (empty when all hold)."""
    with engine.connect() as connection:
        return _check(connection, {**ALWAYS, **SERVICE_DATA})
