from datetime import date

from bs4 import BeautifulSoup
from sqlalchemy import select

from contracts.models import BlockContract, Tender
from contracts.services import tenders
from contracts.services.block_places import free_block_places
from rcc.models import User, utcnow
from tests.conftest import sign_in


def test_the_demo_has_an_awarded_block_contract_in_use_and_an_open_tender(app, setup_session, demo_region):
    region = demo_region
    now = utcnow()
    statuses = {t.reference: tenders.tender_status(t, now) for t in setup_session.scalars(select(Tender))}
    assert statuses == {"NWRCC-2026-01": tenders.AWARDED, "NWRCC-2027-02": tenders.OPEN}
    contract = setup_session.scalars(select(BlockContract)).one()
    assert contract.provider_id == region.providers[0].id and contract.start_date < date.today()
    free = free_block_places(setup_session, date.today())
    assert sum(p.free_places for p in free.values()) == 1  # 3 reserved, 2 children there now

    manager = setup_session.get(User, next(p for p in region.people if p.roles == ["provider_manager"]).id)
    client = sign_in(app.test_client(), manager, password="correct-horse-battery-2026")
    awarded = setup_session.scalars(select(Tender).where(Tender.reference == "NWRCC-2026-01")).one()
    assert "Your bid was successful" in client.get(f"/contracts/tenders/{awarded.id}").get_data(as_text=True)

    commissioner = setup_session.get(User, next(p for p in region.people if p.roles == ["rcc_commissioner"]).id)
    client = sign_in(app.test_client(), commissioner, password="correct-horse-battery-2026")
    page = BeautifulSoup(client.get(f"/contracts/{contract.id}").get_data(as_text=True), "html.parser")
    utilisation = page.find("caption", string="Reserved places used, by month").find_parent("table")
    assert len(utilisation.select("tbody tr")) >= 4  # each month since the start, and the total
    assert page.select_one("svg.contracts-chart") is not None
