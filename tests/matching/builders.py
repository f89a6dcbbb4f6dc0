"""Small matching scenarios: homes with vacancies and submitted referrals in a test region.

Rows are written directly (the commissioning services are tested in tests/commissioning);
what matters here is that they look like what those services produce.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from sqlalchemy.orm import Session

from commissioning.lifecycle import SUBMITTED
from commissioning.models import Child, Home, Referral, SiblingGroup, Vacancy
from commissioning.vocabulary import suitability_for
from rcc.geography import locate_postcode
from rcc.models import Organisation, utcnow

_numbers = itertools.count(1)


def add_home(session: Session, provider: Organisation, name: str = "", *, postcode: str = "CV1 2AB",
             placement_type: str = "childrens_home", places_free: int = 1, weekly_price: int = 500_000,
             needs_met: tuple[str, ...] = ("therapeutic_support", "home_adaptation", "going_missing"),
             age_min: int = 8, age_max: int = 17, local_authority: str = "Coventry",
             rating: str = "good", max_sibling_group: int = 2) -> Home:
    number = next(_numbers)
    point = locate_postcode(postcode)
    home = Home(rcc_id=provider.rcc_id, provider_id=provider.id, ofsted_urn=f"SC{900000 + number}",
                name=name or f"Test home {number}", placement_type=placement_type,
                local_authority=local_authority, postcode=postcode, latitude=point.latitude,
                longitude=point.longitude, registered_places=max(places_free, 4), age_min=age_min,
                age_max=age_max, needs_met=list(needs_met), weekly_price=weekly_price, ofsted_rating=rating,
                max_sibling_group=max_sibling_group)
    session.add(home)
    session.flush()
    session.add(Vacancy(rcc_id=home.rcc_id, provider_id=provider.id, home_id=home.id, places_free=places_free,
                        available_from=date.today()))
    session.flush()
    return home


def add_referral(session: Session, council: Organisation, reference: str = "", *, postcode: str = "CV2 4AA",
                 school_postcode: str | None = "CV3 1AB", age: int = 14, sex: str = "F",
                 placement_type: str = "childrens_home", urgency: str = "planned",
                 needs: tuple[str, ...] = ("therapeutic_support",), risk_flags: tuple[str, ...] = (),
                 wishes: str = "Wants to stay near her school and keep playing netball.",
                 provider_summary: str = "Settled at school; a home within reach of it would help.",
                 initials: str = "JS", sibling_group: SiblingGroup | None = None,
                 status: str = SUBMITTED, date_needed: date | None = None) -> Referral:
    number = next(_numbers)
    today = date.today()
    home_point = locate_postcode(postcode)
    school_point = locate_postcode(school_postcode) if school_postcode else None
    child = Child(rcc_id=council.rcc_id, council_id=council.id, reference=reference or f"REF-{number}",
                  initials=initials, birth_month=today.month, birth_year=today.year - age, sex=sex,
                  legal_status="C2", category_of_need="N1", home_postcode=postcode,
                  school_postcode=school_postcode, home_latitude=home_point.latitude,
                  home_longitude=home_point.longitude,
                  school_latitude=school_point.latitude if school_point else None,
                  school_longitude=school_point.longitude if school_point else None)
    session.add(child)
    session.flush()
    referral = Referral(rcc_id=council.rcc_id, council_id=council.id, child_id=child.id,
                        sibling_group_id=sibling_group.id if sibling_group else None,
                        placement_type=placement_type, urgency=urgency,
                        date_needed=date_needed or today + timedelta(days=14), needs=list(needs),
                        **{f"{key}_suitability": value for key, value in suitability_for(placement_type).items()},
                        risk_flags=list(risk_flags), child_wishes=wishes, provider_summary=provider_summary,
                        status=status,
                        submitted_at=utcnow())
    session.add(referral)
    session.flush()
    return referral


def add_sibling_group(session: Session, council: Organisation, name: str = "Siblings") -> SiblingGroup:
    group = SiblingGroup(rcc_id=council.rcc_id, council_id=council.id, name=name, plan="together")
    session.add(group)
    session.flush()
    return group
