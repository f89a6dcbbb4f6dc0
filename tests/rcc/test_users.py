import pytest
from sqlalchemy import select

from rcc import users
from rcc.errors import Conflict, FieldError
from rcc.geography import local_authorities
from rcc.models import Organisation
from rcc.roles import Role


def test_an_rcc_takes_twenty_councils_and_refuses_the_twenty_first_by_name(setup_session):
    rcc = users.create_rcc(setup_session, "Big RCC", "London")
    london = [la for la in local_authorities() if la.region == "London"]
    for council in london[:20]:
        users.add_member_council(setup_session, rcc, council)
    with pytest.raises(Conflict, match=f"already has 20 member councils.*{london[20].name} cannot join"):
        users.add_member_council(setup_session, rcc, london[20])


def test_councils_carry_their_real_ons_and_dfe_codes(setup_session):
    rcc = users.create_rcc(setup_session, "West Midlands RCC", "West Midlands")
    coventry = next(la for la in local_authorities() if la.name == "Coventry")
    member = users.add_member_council(setup_session, rcc, coventry)
    assert (member.ons_code, member.dfe_code, member.rcc_id) == ("E08000026", "331", rcc.id)


def test_a_council_cannot_join_two_rccs(setup_session):
    coventry = next(la for la in local_authorities() if la.name == "Coventry")
    users.add_member_council(setup_session, users.create_rcc(setup_session, "One", None), coventry)
    with pytest.raises(Conflict, match="already a member"):
        users.add_member_council(setup_session, users.create_rcc(setup_session, "Two", None), coventry)


def test_roles_must_suit_the_organisation(setup_session):
    rcc = users.create_rcc(setup_session, "RCC", None)
    provider = users.add_provider(setup_session, rcc, "Homes Ltd", "private")
    setup_session.flush()
    with pytest.raises(FieldError, match="cannot have the role council_admin") as raised:
        users.create_user(setup_session, provider, "a@example.org", "A Person", [Role.COUNCIL_ADMIN])
    assert raised.value.field == "roles"


def test_email_must_be_valid_and_unique(setup_session):
    rcc = users.create_rcc(setup_session, "RCC", None)
    users.create_user(setup_session, rcc, "Sam@Example.org", "Sam", [Role.RCC_ADMIN])
    with pytest.raises(FieldError, match="cannot be used for a new account"):
        users.create_user(setup_session, rcc, "sam@example.org", "Sam Again", [Role.RCC_ADMIN])
    with pytest.raises(FieldError, match="correct format"):
        users.create_user(setup_session, rcc, "not-an-email", "Nobody", [Role.RCC_ADMIN])


def test_provider_sector_is_checked(setup_session):
    rcc = users.create_rcc(setup_session, "RCC", None)
    with pytest.raises(FieldError, match="Sector must be one of"):
        users.add_provider(setup_session, rcc, "Homes Ltd", "hedge fund")
    assert setup_session.scalar(select(Organisation).where(Organisation.name == "Homes Ltd")) is None
