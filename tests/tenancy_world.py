"""A world of two RCCs, each with two councils and a provider, and objects of every
tenant-owned model in each; plus an independent oracle of who may see which row.

The tenancy matrix (tests/test_tenancy_matrix.py) walks every route against it. Each
capability adds to the world here:
  * ``ID_ARGUMENTS``: every integer URL argument name and the model it identifies. A route
    with an integer argument not listed here fails the matrix, so no route escapes it.
  * ``BUILDER_MODULES``: modules with ``build(session, region, label)`` that create that
    capability's objects for a region. Put ``MARK-`` + a unique suffix in a text field of
    every object that a page would show, so the matrix can tell if it leaks.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import SQLModel
from werkzeug.routing import IntegerConverter

from commissioning.models import (
    FosterHousehold,
    Home,
    Placement,
    ProviderJoinRequest,
    Referral,
    ReferralUpload,
    SiblingGroup,
    Ssda903Upload,
    Vacancy,
)
from contracts.models import Bid, BlockContract, ClarificationQuestion, Lot, Tender
from cost_transparency.models import CostRecord, HighCostReview, ProviderParentGroup, Publication, WhatifRun
from matching.models import (
    ExpressionOfInterest,
    MatchingRun,
    Offer,
    Proposal,
    ReferralDocument,
    ReferralDocumentRelease,
    ReferralPack,
)
from rcc.models import ApiToken, Organisation, User, UserSession
from rcc.notification_models import Notification
from rcc.tenancy import OrgKind, TenantPolicy, TenantScope, tenant_models
from tests.factories import Region, make_region

ID_ARGUMENTS: dict[str, type] = {
    "user_id": User,
    "api_token_id": ApiToken,
    "session_id": UserSession,
    "referral_id": Referral,
    "upload_id": ReferralUpload,
    "import_id": Ssda903Upload,
    "sibling_group_id": SiblingGroup,
    "placement_id": Placement,
    "home_id": Home,
    "vacancy_id": Vacancy,
    "household_id": FosterHousehold,
    "cost_record_id": CostRecord,
    "high_cost_review_id": HighCostReview,
    "publication_id": Publication,
    "provider_parent_group_id": ProviderParentGroup,
    "tender_id": Tender,
    "lot_id": Lot,
    "clarification_id": ClarificationQuestion,
    "bid_id": Bid,
    "contract_id": BlockContract,
    "run_id": MatchingRun,
    "proposal_id": Proposal,
    "offer_id": Offer,
    "notification_id": Notification,
    "whatif_run_id": WhatifRun,
    "pack_id": ReferralPack,
    "document_id": ReferralDocument,
    "answer_id": ExpressionOfInterest,
    "release_id": ReferralDocumentRelease,
    "organisation_id": Organisation,
    "join_request_id": ProviderJoinRequest,
}

BUILDER_MODULES: tuple[str, ...] = ("tests.commissioning.world", "tests.matching.world", "tests.contracts.world",
                                    "tests.cost_transparency.world", "tests.rcc.notifications_world",
                                    "tests.commissioning.onboarding_world")

REGION_COUNCILS = {"A": ("Coventry", "Warwickshire"), "B": ("Leicester", "Leicestershire")}


@dataclass
class World:
    regions: dict[str, Region]

    def rows(self, session: Session) -> list[Any]:
        found: list[Any] = []
        for model in tenant_models(SQLModel._sa_registry):  # type: ignore[attr-defined]
            found.extend(session.scalars(select(model).order_by(model.id)))
        return found


def build_world(session: Session) -> World:
    world = World({label: make_region(session, label, councils) for label, councils in REGION_COUNCILS.items()})
    for label, region in world.regions.items():
        for user in [*region.people.values(), *region.other_council_people.values()]:
            from rcc import users

            users.create_api_token(session, user, f"MARK-{label}-token-{user.id}")
            users.record_sign_in(session, user, f"MARK-{label}-browser")  # a signed-in session to end
        for module in BUILDER_MODULES:
            importlib.import_module(module).build(session, region, label)
    session.commit()
    return world


def visible(row: Any, scope: TenantScope) -> bool:
    """Written apart from rcc.tenancy on purpose: the test's own reading of the rules."""
    policy: TenantPolicy = type(row).__tenant_policy__
    if getattr(row, "rcc_id", None) != scope.rcc_id:
        return False
    groups = {OrgKind.RCC: policy.rcc_staff, OrgKind.COUNCIL: policy.any_council,
              OrgKind.PROVIDER: policy.any_provider}
    if groups.get(OrgKind(scope.kind), False):
        return True
    return any(getattr(row, column) == scope.organisation_id for column in policy.owner_columns)


def markers_of(row: Any) -> list[str]:
    return [value for value in vars(row).values() if isinstance(value, str) and "MARK-" in value]


def path_for_user(rule: Any, rows_by_model: dict[type, list[Any]], user: Any) -> str | None:
    """A concrete path for ``rule`` naming the first record of each id argument that ``user`` may see
    (None if there is none): how the page walks (accessibility, bad input) reach every page."""
    from rcc.web import scope_for  # noqa: PLC0415

    values: dict[str, Any] = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            candidates = [row for row in rows_by_model.get(ID_ARGUMENTS.get(name), [])  # type: ignore[arg-type]
                          if visible(row, scope_for(user))]
            if not candidates:
                return None
            values[name] = candidates[0].id
        else:
            choices = getattr(converter, "items", None)
            if not choices:
                return None
            values[name] = sorted(choices)[0]
    return str(rule.build(values, append_unknown=False)[1])
