"""Small race scenarios written directly as rows, consistent with what the services produce.

Homes have as many registered places as free ones (nobody lives there yet), so the checker's
"free = registered − live" holds from the start; referrals carry a first history step.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from commissioning.lifecycle import IN_MATCHING, OFFERED, PLACED
from commissioning.models import Home, Placement, Referral, ReferralEvent, Vacancy
from matching.models import DONE, PROPOSED, SENT, MatchingRun, Offer, Proposal
from matching.services.keys import child_key
from rcc.models import Organisation, utcnow
from tests.matching import builders


def home(session: Session, provider: Organisation, places: int = 1) -> Home:
    made = builders.add_home(session, provider, places_free=places)
    made.registered_places = places
    session.flush()
    return made


def referral(session: Session, council: Organisation, status: str = IN_MATCHING) -> Referral:
    made = builders.add_referral(session, council, status=status)
    session.add(ReferralEvent(rcc_id=made.rcc_id, council_id=made.council_id, referral_id=made.id,
                              from_status=None, to_status=status, reason="race set-up"))
    session.flush()
    return made


def offer(session: Session, made_for: Referral, to: Home, status: str = SENT) -> Offer:
    made = Offer(rcc_id=made_for.rcc_id, council_id=made_for.council_id, provider_id=to.provider_id,
                 home_id=to.id, referral_id=made_for.id, weekly_cost=500_000, profile={}, status=status,
                 respond_by=utcnow() + timedelta(hours=4))
    session.add(made)
    session.flush()
    return made


def offered(session: Session, council: Organisation, to: Home, status: str = SENT) -> Offer:
    """A child offered to ``to`` (the offer sent, or accepted by the provider)."""
    return offer(session, referral(session, council, OFFERED), to, status)


def placed(session: Session, council: Organisation, to: Home) -> Placement:
    """A child living in ``to``, which has one place fewer free."""
    child_referral = referral(session, council, PLACED)
    made = Placement(rcc_id=child_referral.rcc_id, council_id=child_referral.council_id,
                     provider_id=to.provider_id, referral_id=child_referral.id, child_id=child_referral.child_id,
                     home_id=to.id, placement_type=to.placement_type, start_date=date.today() - timedelta(days=30),
                     weekly_cost=500_000, funding="spot")
    session.add(made)
    vacancy = session.scalars(select(Vacancy).where(Vacancy.home_id == to.id)).one()
    vacancy.places_free -= 1
    session.flush()
    return made


def finished_run(session: Session, rcc: Organisation, proposals: list[tuple[Referral, Home]]) -> list[Proposal]:
    """A run that has finished, proposing each referral's home."""
    run = MatchingRun(rcc_id=rcc.id, organisation_id=rcc.id, referral_ids=[r.id for r, _ in proposals], stage=DONE,
                      finished_at=utcnow())
    session.add(run)
    session.flush()
    made = [Proposal(rcc_id=r.rcc_id, council_id=r.council_id, run_id=run.id, referral_id=r.id,
                     child_key=child_key(int(r.id or 0)), home_id=h.id, score=100, rank=1, status=PROPOSED)
            for r, h in proposals]
    session.add_all(made)
    session.flush()
    return made
