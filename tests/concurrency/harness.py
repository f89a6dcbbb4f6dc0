"""Two (or more) people pressing a button at the same moment, as web requests would.

``race`` runs each attempt in its own thread with its own database session (the app's own
session factory, scoped and attributed as that person, exactly as a request would be), loads
what the attempt needs, waits at a barrier so that every attempt acts at once, then runs the
action in one transaction. Each attempt ends "won" (committed), "refused" (a Conflict, which the
pages and API show as a 409 with a plain message) or "error: ..." (anything else, a 500).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from rcc.audit import Actor, set_actor
from rcc.db import Session, transaction
from rcc.errors import Conflict
from rcc.models import User
from rcc.tenancy import set_scope
from rcc.web import scope_for

WON = "won"
REFUSED = "refused"


@dataclass(frozen=True)
class Attempt:
    """``act(session, load(session))`` as ``user``; ``load`` runs before the barrier."""

    user: User
    load: Callable[[Session], Any]
    act: Callable[[Session, Any], Any]


def race(app: Flask, attempts: Sequence[Attempt], timeout: float = 30.0) -> list[str]:
    """Run every attempt at the same moment; their outcomes, in the order given."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = ["error: did not finish"] * len(attempts)

    def run(index: int, attempt: Attempt) -> None:
        session = app.extensions["rcc_sessions"]()
        set_scope(session, scope_for(attempt.user))
        set_actor(session, Actor(attempt.user.id, attempt.user.organisation_id, attempt.user.rcc_id, "race"))
        try:
            loaded = attempt.load(session)
            barrier.wait(timeout=timeout)
            with transaction(session):
                attempt.act(session, loaded)
            outcomes[index] = WON
        except Conflict:
            outcomes[index] = REFUSED
        except Exception as error:  # noqa: BLE001 - anything else is a failure the test reports
            outcomes[index] = f"error: {type(error).__name__}: {error}"[:300]
        finally:
            session.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout * 2)
    return outcomes


@dataclass
class Tally:
    """Outcomes over many tries of one race, and the tries that did not have exactly one winner."""

    name: str
    tries: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    not_one_winner: int = 0

    def add(self, outcomes: list[str]) -> None:
        self.tries += 1
        self.outcomes.update(outcomes)
        self.not_one_winner += outcomes.count(WON) != 1 or outcomes.count(REFUSED) != len(outcomes) - 1

    def report(self) -> str:
        return (f"{self.name}: {self.tries} tries, outcomes {dict(self.outcomes)}, "
                f"tries without exactly one winner: {self.not_one_winner}")
