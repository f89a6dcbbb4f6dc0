"""A demo region built from real reference data, for trying the platform out.

The core builds the RCC, its councils, a few providers and one person per role.
Capability packages add their own steps (referrals, homes, tenders, costs) with
``add_demo_step``; every step is deterministic, seeded from ``DEMO_SEED``.
"""

from __future__ import annotations

import base64
import csv
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from rcc import users
from rcc.geography import REFERENCE_DATA, LocalAuthority, Point, great_circle_miles, local_authorities
from rcc.models import Organisation, User
from rcc.roles import Role

DEMO_SEED = 20261129
DEMO_REGION = "North West"
DEMO_PASSWORD = "correct-horse-battery-2026"
DEMO_PROVIDER_COUNT = 6


@dataclass
class DemoRegion:
    rcc: Organisation
    councils: list[Organisation]
    providers: list[Organisation]
    people: list[User] = field(default_factory=list)
    # branch onboard: a manager for every provider with free places (commissioning's demo step)
    provider_managers: list[User] = field(default_factory=list)


DemoStep = Callable[[Session, DemoRegion], None]


def add_demo_step(app: Flask, step: DemoStep) -> None:
    app.extensions.setdefault("rcc_demo_steps", []).append(step)


def councils_of_region(region: str, limit: int = 20) -> list[LocalAuthority]:
    """The region's councils nearest its centre, so a large region gives a compact RCC of ``limit``."""
    members = [la for la in local_authorities() if la.region == region]
    if not members:
        raise ValueError(f"No English region is called '{region}'")
    centre = Point(sum(la.centre.latitude for la in members) / len(members),
                   sum(la.centre.longitude for la in members) / len(members))
    return sorted(members, key=lambda la: (great_circle_miles(la.centre, centre), la.name))[:limit]


def create_rcc_for_region(session: Session, region: str, limit: int = 20) -> DemoRegion:
    rcc = users.create_rcc(session, f"{region} Regional Care Cooperative", region)
    councils = [users.add_member_council(session, rcc, la) for la in councils_of_region(region, limit)]
    return DemoRegion(rcc, councils, [])


def largest_provider_groups(region: str, count: int) -> list[tuple[str, str]]:
    """(organisation, sector) of the groups with the most registered places in the region (Ofsted 2022)."""
    places: Counter[tuple[str, str]] = Counter()
    with open(REFERENCE_DATA / "ofsted_providers.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["region"] == region and row["organisation"] and row["provider_type"] == "Children's home":
                places[(row["organisation"], row["sector"])] += int(row["registered_places"] or 0)
    return [group for group, _ in places.most_common(count)]


SECTOR_FROM_OFSTED = {"Private": "private", "Voluntary": "voluntary", "Local Authority": "local_authority",
                      "Health Authority": "local_authority"}


def build_demo(session: Session, app: Flask) -> DemoRegion:
    if app.config.get("RCC_ENV") not in ("development", "testing"):
        raise RuntimeError("The demo's passwords and security keys are published: it never runs in production.")
    if session.scalar(select(Organisation.id).where(Organisation.kind == "rcc").limit(1)):
        raise RuntimeError("The database already has an RCC. Run the demo on an empty database.")
    region = create_rcc_for_region(session, DEMO_REGION)
    for name, sector in largest_provider_groups(DEMO_REGION, DEMO_PROVIDER_COUNT):
        region.providers.append(users.add_provider(session, region.rcc, name.title() if name.isupper() else name,
                                                   SECTOR_FROM_OFSTED.get(sector, "private")))
    session.flush()
    region.people = _demo_people(session, region)
    for step in app.extensions.get("rcc_demo_steps", []):
        step(session, region)
    return region


def _demo_people(session: Session, region: DemoRegion) -> list[User]:
    first_council, second_council = region.councils[0], region.councils[1]
    provider = region.providers[0]
    plan = [
        (first_council, "Priya Shah", Role.COUNCIL_PLACEMENT_OFFICER),
        (first_council, "Tom Okafor", Role.COUNCIL_FINANCE_LEAD),
        (first_council, "Helen Morris", Role.COUNCIL_ADMIN),
        (second_council, "Aisha Begum", Role.COUNCIL_PLACEMENT_OFFICER),
        (region.rcc, "Dan Whitfield", Role.RCC_PLACEMENT_OFFICER),
        (region.rcc, "Grace Lee", Role.RCC_COMMISSIONER),
        (region.rcc, "Mark Evans", Role.RCC_ADMIN),
        (provider, "Ruth Campbell", Role.PROVIDER_MANAGER),
    ]
    return [
        users.create_user(session, organisation, demo_email(name, organisation), name, [role],
                          password=DEMO_PASSWORD, with_two_factor=role.organisation_kind != "provider",
                          totp_secret=demo_totp_secret(demo_email(name, organisation)))
        for organisation, name, role in plan
    ]


def demo_totp_secret(email: str) -> str:
    """The same authenticator key every time the demo is built, so a phone set up once keeps working."""
    digest = hashlib.sha256(f"{DEMO_SEED}:{email}".encode()).digest()
    return base64.b32encode(digest[:20]).decode()


def demo_email(name: str, organisation: Organisation) -> str:
    words = organisation.name.lower().replace("regional care cooperative", "rcc").split()
    domain = "-".join("".join(ch for ch in word if ch.isalnum()) for word in words[:3])
    return f"{name.lower().replace(' ', '.')}@{domain}.example.org"
