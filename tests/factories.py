"""Builders for test data, written through the same services the product uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from rcc import users
from rcc.geography import local_authority_named
from rcc.models import Organisation, User
from rcc.roles import Role
from tests.conftest import TEST_PASSWORD


@dataclass
class Region:
    """One RCC with two member councils and a provider, and one person in every role."""

    rcc: Organisation
    councils: list[Organisation]
    provider: Organisation
    people: dict[Role, User] = field(default_factory=dict)
    other_council_people: dict[Role, User] = field(default_factory=dict)


def make_region(session: Session, label: str, council_names: tuple[str, str]) -> Region:
    rcc = users.create_rcc(session, f"{label} RCC", "Test region")
    councils = []
    for name in council_names:
        authority = local_authority_named(name)
        assert authority is not None, name
        councils.append(users.add_member_council(session, rcc, authority))
    provider = users.add_provider(session, rcc, f"{label} Homes Ltd", "private")
    session.flush()
    region = Region(rcc, councils, provider)
    for role in Role:
        organisation = {"council": councils[0], "rcc": rcc, "provider": provider}[role.organisation_kind]
        region.people[role] = make_user(session, organisation, role, f"{label}-{role.value}")
        if role.organisation_kind == "council":
            region.other_council_people[role] = make_user(session, councils[1], role, f"{label}-2-{role.value}")
    session.commit()
    return region


def make_user(session: Session, organisation: Organisation, role: Role, handle: str) -> User:
    return users.create_user(
        session, organisation, f"{handle.lower().replace('_', '-')}@example.org",
        f"Person MARK-{handle}", [role], password=TEST_PASSWORD,
        with_two_factor=role.organisation_kind != "provider",
    )
