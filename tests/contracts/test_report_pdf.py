from datetime import timedelta
from io import BytesIO

from pypdf import PdfReader

from contracts.services import evaluation, tenders
from rcc.models import utcnow
from rcc.roles import Role
from tests.contracts.helpers import add_provider, bid_for, make_home, moderate_all, published_tender
from tests.factories import make_region


def test_the_evaluation_report_pdf_shows_the_lots_ranking(app, setup_session, signed_in_client):
    s = setup_session
    region = make_region(s, "T", ("Coventry", "Warwickshire"))
    start = utcnow() - timedelta(days=30)
    tender, lot = published_tender(s, region, now=start)
    rival = add_provider(s, region, "Rival Care Ltd")
    cheap = bid_for(s, rival, lot, 450000, [make_home(s, rival, "Elm")], now=start)
    good = bid_for(s, region.provider, lot, 500000, [make_home(s, region.provider, "Oak")], now=start)
    later = tender.bids_close_at + timedelta(hours=1)
    tenders.start_evaluation(s, tender, later)
    moderate_all(s, lot, region.people[Role.RCC_COMMISSIONER].id, {cheap.id: [2, 2], good.id: [5, 4]}, later)
    evaluation.decide_lot_award(s, lot, good.id, "Highest total score", later)
    s.commit()

    client = signed_in_client(region.people[Role.RCC_ADMIN])
    response = client.get(f"/contracts/lots/{lot.id}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(response.data)).pages)
    assert "Ranking for lot 1" in text
    assert text.index("T Homes Ltd") < text.index("Rival Care Ltd")  # ranked first, 90.80 against 76.00
    assert "90.80" in text and "76.00" in text
    assert "Highest total score" in text
