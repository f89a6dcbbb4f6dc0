"""Races: conflicting actions sent at the same moment, and the SQL invariant checker.

To add a race (edit x edit, run x run, approve-report x edit-report ...): build every try's rows
up front and commit once, then for each try call ``harness.race(app, [Attempt(user, load, act),
...])`` and ``tally.add`` its outcomes; finish with ``test_races._finish`` (the checker and
"exactly one winner"). ``tries`` is 50 on PostgreSQL and 5 on SQLite. New rules for the checker go
in ``invariants.ALWAYS`` (hold for any data; run after every test) or ``invariants.SERVICE_DATA``.
"""
