"""Matching's objects for the tenancy matrix: for each region, a finished run with a proposal for
each council's child, an offer waiting for the provider and a declined one, each carrying a marker.

The children's references carry markers too: a provider sees an offer for them, and must never
see who they are.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from commissioning.lifecycle import IN_MATCHING, OFFERED
from commissioning.models import SiblingGroup
from matching.models import (
    CANNOT,
    DECLINED,
    DONE,
    SENT,
    ExpressionOfInterest,
    GroupOffer,
    MatchingRun,
    Offer,
    Proposal,
    ReferralDocument,
    ReferralDocumentRelease,
    ReferralPack,
)
from matching.services import policy
from matching.services.keys import child_key
from rcc.models import utcnow
from tests.factories import Region
from tests.matching import builders


def build(session: Session, region: Region, label: str) -> None:
    home = builders.add_home(session, region.provider, f"MARK-{label}-matching-home", places_free=2)
    run = MatchingRun(rcc_id=region.rcc.id, organisation_id=region.rcc.id, note=f"MARK-{label}-run", stage=DONE,
                      problem={"children": [], "homes": []}, result={"assignments": [], "unmatched": [],
                                                                     "pressure": []})
    session.add(run)
    session.flush()
    for index, council in enumerate(region.councils):
        referral = builders.add_referral(session, council, f"MARK-{label}-{index}-matching-child",
                                         postcode="CV2 4AA", status=OFFERED)
        session.add(Proposal(rcc_id=region.rcc.id, council_id=council.id, run_id=run.id, referral_id=referral.id,
                             child_key=child_key(referral.id), home_id=home.id, score=100, rank=1, candidates=1,
                             status="accepted", chosen_home_id=home.id,
                             decision_reason=f"MARK-{label}-{index}-proposal"))
        session.add(Offer(rcc_id=region.rcc.id, council_id=council.id, provider_id=home.provider_id,
                          home_id=home.id, referral_id=referral.id, status=SENT, weekly_cost=500_000,
                          profile=_profile(), respond_by=utcnow() + timedelta(hours=48)))
        declined = builders.add_referral(session, council, f"MARK-{label}-{index}-declined-child",
                                         status=IN_MATCHING)
        session.add(Offer(rcc_id=region.rcc.id, council_id=council.id, provider_id=home.provider_id,
                          home_id=home.id, referral_id=declined.id, status=DECLINED, weekly_cost=500_000,
                          profile=_profile(), respond_by=utcnow() + timedelta(hours=48),
                          decline_reason="other", decline_details=f"MARK-{label}-{index}-declined"))
        # The council's sibling group from the commissioning world (a second group would be listed on the
        # referral edit form, whose read of the groups is not audited: see the review's report).
        group = session.scalars(select(SiblingGroup).where(SiblingGroup.council_id == council.id)).one()
        session.add(GroupOffer(rcc_id=region.rcc.id, council_id=council.id, provider_id=home.provider_id,
                               sibling_group_id=int(group.id or 0), run_id=run.id, answer=DECLINED,
                               sent_at=utcnow(), respond_by=utcnow() + timedelta(hours=48), decline_reason="other",
                               decline_details=f"MARK-{label}-{index}-group-declined"))
        _referral_pack(session, region, council, home, label, index)
    policy.save_policy(session, region.rcc.id, {k: str(v) for k, v in policy.DEFAULTS.as_dict().items()},
                       f"MARK-{label}-policy")
    session.flush()


def _profile() -> dict[str, object]:
    return {"age_band": "13–15", "sex": "Female", "placement_type": "Children's home", "urgency": "Planned",
            "date_needed": (utcnow().date() + timedelta(days=14)).isoformat(), "needs": [], "risk_flags": [],
            "deprivation_of_liberty_order": False, "summary": "", "distance_band": "Under 5 miles"}


def _referral_pack(session: Session, region: Region, council, home, label: str, index: int) -> None:  # type: ignore[no-untyped-def]
    """A pack for a council's child, with a document released to the provider and one kept back, and
    the provider's "cannot" answer."""
    referral = builders.add_referral(session, council, f"MARK-{label}-{index}-pack-child", status=IN_MATCHING)
    respond_by = utcnow() + timedelta(days=3)
    pack = ReferralPack(rcc_id=region.rcc.id, council_id=council.id, referral_id=referral.id, respond_by=respond_by)
    session.add(pack)
    session.flush()
    documents = [ReferralDocument(rcc_id=region.rcc.id, council_id=council.id, pack_id=pack.id,
                                  referral_id=referral.id, kind=kind, file_name=f"MARK-{label}-{index}-{kind}.pdf",
                                  content_type="application/pdf", size_bytes=9, content=b"%PDF-1.4\n")
                 for kind in ("care_plan_summary", "risk_assessment")]
    session.add_all(documents)
    session.flush()
    session.add(ReferralDocumentRelease(rcc_id=region.rcc.id, council_id=council.id, provider_id=home.provider_id,
                                        document_id=documents[0].id, pack_id=pack.id))
    session.add(ExpressionOfInterest(rcc_id=region.rcc.id, council_id=council.id, provider_id=home.provider_id,
                                     home_id=home.id, pack_id=pack.id, referral_id=referral.id, profile=_profile(),
                                     respond_by=respond_by, answer=CANNOT, cannot_reason="other",
                                     cannot_details=f"MARK-{label}-{index}-cannot"))
