"""The tick, travelling in time: a tender's providers are reminded the day before and its bidders told
when it closes; a contract's uplift is applied once, on its date; a second tick does nothing more."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from contracts.models import ContractPrice
from rcc.models import AuditEvent
from rcc.notification_models import Notification
from rcc.roles import Role
from tests.contracts.helpers import add_provider, bid_for, make_contract, make_home, published_tender
from tests.factories import make_region, make_user
from tests.rcc.outbox import outbox  # noqa: E402,F401 - every test here uses the outbox


def tick(app, at: datetime) -> str:
    result = app.test_cli_runner().invoke(args=["tick", "--now", at.astimezone(UTC).replace(tzinfo=None).isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def audited(session, action: str) -> int:
    return session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action))


def told(session, event: str) -> Counter:
    session.expire_all()
    return Counter(n.user_id for n in session.scalars(select(Notification).where(Notification.event == event)))


def test_a_tender_reminds_then_closes_once(app, setup_session):
    s = setup_session
    region = make_region(s, "T", ("Coventry", "Warwickshire"))
    quiet = add_provider(s, region, "Quiet Homes Ltd")
    quiet_manager = make_user(s, quiet, Role.PROVIDER_MANAGER, "quiet-manager")
    tender, lot = published_tender(s, region)
    bid_for(s, region.provider, lot, 500000, [make_home(s, region.provider, "Oak")])
    s.commit()
    ours = region.people[Role.PROVIDER_MANAGER]
    closes = tender.bids_close_at

    assert "tenders closed: 0, tender deadlines reminded: 0" in tick(app, closes - timedelta(days=2))
    assert "tender deadlines reminded: 1" in tick(app, closes - timedelta(hours=23))
    assert told(s, "tender_deadline_tomorrow") == Counter({ours.id: 1, quiet_manager.id: 1})
    assert "tenders closed: 0, tender deadlines reminded: 0" in tick(app, closes - timedelta(minutes=1))

    assert "tenders closed: 1" in tick(app, closes)
    assert told(s, "tender_closed") == Counter({ours.id: 1})  # only those who bid
    assert "tenders closed: 0" in tick(app, closes + timedelta(hours=1))
    assert (audited(s, "tender.bids_closed"), audited(s, "tender.deadline_reminded")) == (1, 1)
    assert told(s, "tender_closed") == Counter({ours.id: 1})


def test_an_uplift_applies_once_on_its_date(app, setup_session):
    s = setup_session
    region = make_region(s, "U", ("Coventry", "Warwickshire"))
    home = make_home(s, region.provider, "Birch")
    contract = make_contract(s, region, region.provider, [(home, 2)], date(2027, 1, 1), date(2029, 12, 31),
                             500_000, uplift_bp=250)
    s.commit()

    def uplifts() -> list[tuple[date, int]]:
        s.expire_all()
        return [(p.effective_from, p.weekly_price) for p in s.scalars(
            select(ContractPrice).where(ContractPrice.contract_id == contract.id, ContractPrice.reason == "uplift"))]

    assert "contract uplifts applied: 0" in tick(app, datetime(2027, 12, 31, 23, 59, tzinfo=UTC))
    assert uplifts() == []
    assert "contract uplifts applied: 1" in tick(app, datetime(2028, 1, 1, 0, 0, tzinfo=UTC))
    assert uplifts() == [(date(2028, 1, 1), 512_500)]  # 2.5 % on 5,000.00
    assert "contract uplifts applied: 0" in tick(app, datetime(2028, 1, 1, 0, 1, tzinfo=UTC))
    assert uplifts() == [(date(2028, 1, 1), 512_500)]
    assert audited(s, "contract.uplift_applied") == 1


def test_when_bids_close_the_rccs_evaluators_are_told_once_that_evaluation_is_due(app, setup_session):
    s = setup_session
    region = make_region(s, "E", ("Coventry", "Warwickshire"))
    elsewhere = make_region(s, "F", ("Solihull", "Walsall"))  # another RCC's commissioner is never told
    tender, lot = published_tender(s, region)
    empty, _ = published_tender(s, region, reference="NW-2027-02")  # nobody bid: nothing to evaluate
    bid_for(s, region.provider, lot, 500000, [make_home(s, region.provider, "Oak")])
    s.commit()
    evaluator = region.people[Role.RCC_COMMISSIONER]

    assert told(s, "evaluation_due") == Counter()
    tick(app, tender.bids_close_at - timedelta(minutes=1))
    assert told(s, "evaluation_due") == Counter()
    tick(app, max(tender.bids_close_at, empty.bids_close_at))
    assert told(s, "evaluation_due") == Counter({evaluator.id: 1})  # not placement officers, providers, others
    tick(app, tender.bids_close_at + timedelta(hours=1))
    assert told(s, "evaluation_due") == Counter({evaluator.id: 1})
    [notice] = s.scalars(select(Notification).where(Notification.event == "evaluation_due"))
    assert notice.title == f"Evaluation of {tender.title} can begin" and "1 bid" in notice.body
    assert notice.link == f"/contracts/tenders/{tender.id}"
    assert elsewhere.people[Role.RCC_COMMISSIONER].id not in told(s, "evaluation_due")
