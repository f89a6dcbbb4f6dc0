"""The tenant filter reaches every place a statement names a tenant-owned table, not just its top level."""

import pytest
from sqlalchemy import func, select, text

from rcc.models import Organisation, User
from rcc.tenancy import TenancyNotSet, TenantScope, set_scope
from rcc.web import scope_for
from tests.factories import make_region


@pytest.fixture
def council_session(app, setup_session):
    region = make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    make_region(setup_session, "B", ("Leeds", "Bradford"))
    officer = next(person for person in region.people.values() if person.organisation_id == region.councils[0].id)
    with app.extensions["rcc_sessions"]() as session:
        set_scope(session, scope_for(officer))
        yield session, region


def _own_people(region):
    council = region.councils[0].id
    return sorted(p.id for p in [*region.people.values(), *region.other_council_people.values()]
                  if p.organisation_id == council)


def test_people_counted_through_a_subquery_are_only_the_councils_own(council_session):
    session, region = council_session
    counted = session.scalar(select(func.count()).select_from(select(User.id).subquery()))
    assert counted == len(_own_people(region))


def test_a_table_named_only_in_a_where_clause_is_filtered(council_session):
    session, region = council_session
    with_people = session.scalars(select(Organisation.id).where(
        Organisation.id.in_(select(User.organisation_id)))).all()
    assert with_people == [region.councils[0].id]


def test_a_joined_table_is_filtered(council_session):
    session, region = council_session
    joined = session.scalars(select(User.id).join(Organisation, Organisation.id == User.organisation_id)
                             .order_by(User.id)).all()
    assert joined == _own_people(region)
    everyone_in_the_rcc = session.scalars(select(Organisation.id).where(Organisation.rcc_id == region.rcc.id)).all()
    assert len(everyone_in_the_rcc) == 4  # the RCC, two councils and a provider: organisations are shared


def test_with_no_scope_a_subquery_on_tenant_data_is_refused(app, setup_session):
    make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    with app.extensions["rcc_sessions"]() as session, pytest.raises(TenancyNotSet):
        session.scalar(select(func.count()).select_from(select(User.id).subquery()))


def test_postgres_hears_of_each_change_of_scope_within_a_transaction(council_session, is_postgres):
    if not is_postgres:
        pytest.skip("row-level security is a PostgreSQL feature")
    session, region = council_session
    council_scope = scope_for(session.get(User, _own_people(region)[0]))
    raw_count = text("SELECT count(*) FROM user_account")  # row-level security alone, no ORM filter
    own = len(_own_people(region))
    assert session.scalar(raw_count) == own
    set_scope(session, TenantScope.for_organisation("rcc", region.rcc.id, region.rcc.id))
    assert session.scalar(raw_count) == len([p for p in region.people.values() if p.organisation_id == region.rcc.id])
    set_scope(session, council_scope)
    assert session.scalar(raw_count) == own
    assert session.in_transaction()
