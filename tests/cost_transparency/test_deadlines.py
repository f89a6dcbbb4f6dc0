"""The tick reminds each council's finance leads of a high-cost review that is due, once per due date."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select, update

from cost_transparency.models import HighCostReview
from rcc.models import AuditEvent
from rcc.notification_models import Notification
from rcc.roles import Role
from tests.commissioning import world as commissioning_world
from tests.cost_transparency import world as cost_world
from tests.factories import make_region
from tests.rcc.outbox import outbox  # noqa: E402,F401 - every test here uses the outbox


def tick(app, at) -> str:
    result = app.test_cli_runner().invoke(args=["tick", "--now", at.replace(tzinfo=None).isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_due_review_is_reminded_to_its_councils_finance_leads_once(app, setup_session):
    s = setup_session
    region = make_region(s, "H", ("Coventry", "Warwickshire"))
    commissioning_world.build(s, region, "H")
    cost_world.build(s, region, "H")  # an open review for each council, flagged today
    s.commit()
    reviews = list(s.scalars(select(HighCostReview).order_by(HighCostReview.id)))
    flagged = datetime.combine(reviews[0].flagged_on, time(9), tzinfo=UTC)

    assert "high-cost reviews reminded: 2" in tick(app, flagged)
    assert "high-cost reviews reminded: 0" in tick(app, flagged + timedelta(days=1))
    finance = region.people[Role.COUNCIL_FINANCE_LEAD]
    other_finance = region.other_council_people[Role.COUNCIL_FINANCE_LEAD]

    def told() -> Counter:
        s.expire_all()
        return Counter(n.user_id for n in s.scalars(select(Notification).where(
            Notification.event == "high_cost_review_due")))

    assert told() == Counter({finance.id: 1, other_finance.id: 1})
    # Reviewed, with a next review in 30 days: reminded again on that day, once.
    next_review = reviews[0].flagged_on + timedelta(days=30)
    s.execute(update(HighCostReview).where(HighCostReview.id == reviews[0].id)
              .values(status="reviewed", next_review_on=next_review))
    s.commit()
    assert "high-cost reviews reminded: 0" in tick(app, flagged + timedelta(days=29))
    assert "high-cost reviews reminded: 1" in tick(app, flagged + timedelta(days=30))
    assert "high-cost reviews reminded: 0" in tick(app, flagged + timedelta(days=31))
    assert told()[finance.id] + told()[other_finance.id] == 3
    assert s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "high_cost_review.reminded")) == 3
