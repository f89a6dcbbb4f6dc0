"""The demo's year of cost history gives every cost page and report real-looking figures."""

from collections import Counter

from bs4 import BeautifulSoup
from sqlalchemy import select

from cost_transparency.models import CostRecord, HighCostReview, Publication, RatingObservation
from cost_transparency.services import statistics
from rcc.models import User
from tests.conftest import sign_in


def test_the_demo_has_costed_history_a_review_queue_and_a_published_report(app, setup_session, demo_region):
    region = demo_region
    records = setup_session.scalars(select(CostRecord)).all()
    assert len({r.placement_id for r in records}) >= 20 * 12
    homes = [r.gross_weekly for r in records if r.placement_type == "childrens_home"]
    assert 500_000 <= statistics.median(homes) <= 750_000  # around the CCN's £6,108
    assert max(homes) >= 2_000_000  # the long tail
    assert any(r.nhs_contribution_weekly for r in records) and any(r.additional_support_weekly for r in records)
    reviews = setup_session.scalars(select(HighCostReview)).all()
    assert Counter(r.status for r in reviews).keys() == {"open", "reviewed"}
    statuses = Counter(p.status for p in setup_session.scalars(select(Publication)))
    assert statuses == {"published": 1, "draft": 1}
    assert setup_session.scalars(select(RatingObservation)).first() is not None

    finance = next(p for p in region.people if p.roles == ["council_finance_lead"])
    client = sign_in(app.test_client(), setup_session.get(User, finance.id), password="correct-horse-battery-2026")
    page = BeautifulSoup(client.get("/costs").data, "html.parser").find("main").get_text(" ")
    assert "Children's home" in page and "£" in page
    index = app.test_client().get("/published-costs").get_data(as_text=True)
    assert "Placement unit costs, year to" in index
