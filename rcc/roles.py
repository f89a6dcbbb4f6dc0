"""Roles people hold, grouped by the kind of organisation they work for."""

from __future__ import annotations

from enum import StrEnum

from rcc.tenancy import OrgKind


class Role(StrEnum):
    COUNCIL_PLACEMENT_OFFICER = "council_placement_officer"
    COUNCIL_FINANCE_LEAD = "council_finance_lead"
    COUNCIL_ADMIN = "council_admin"
    RCC_PLACEMENT_OFFICER = "rcc_placement_officer"
    RCC_COMMISSIONER = "rcc_commissioner"
    RCC_ADMIN = "rcc_admin"
    PROVIDER_MANAGER = "provider_manager"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def organisation_kind(self) -> OrgKind:
        return next(kind for kind, roles in ROLES_BY_KIND.items() if self in roles)


ROLE_LABELS = {
    Role.COUNCIL_PLACEMENT_OFFICER: "Council placement officer",
    Role.COUNCIL_FINANCE_LEAD: "Council finance lead",
    Role.COUNCIL_ADMIN: "Council admin",
    Role.RCC_PLACEMENT_OFFICER: "RCC placement officer",
    Role.RCC_COMMISSIONER: "RCC commissioner",
    Role.RCC_ADMIN: "RCC admin",
    Role.PROVIDER_MANAGER: "Provider manager",
}

ROLES_BY_KIND: dict[OrgKind, tuple[Role, ...]] = {
    OrgKind.COUNCIL: (Role.COUNCIL_PLACEMENT_OFFICER, Role.COUNCIL_FINANCE_LEAD, Role.COUNCIL_ADMIN),
    OrgKind.RCC: (Role.RCC_PLACEMENT_OFFICER, Role.RCC_COMMISSIONER, Role.RCC_ADMIN),
    OrgKind.PROVIDER: (Role.PROVIDER_MANAGER,),
}

COUNCIL_STAFF = ROLES_BY_KIND[OrgKind.COUNCIL]
RCC_STAFF = ROLES_BY_KIND[OrgKind.RCC]
PROVIDER_STAFF = ROLES_BY_KIND[OrgKind.PROVIDER]
ADMINS = (Role.COUNCIL_ADMIN, Role.RCC_ADMIN)
EVERY_ROLE = tuple(Role)

# Two-factor sign-in is required wherever people can see children's records.
TWO_FACTOR_REQUIRED_KINDS = (OrgKind.RCC, OrgKind.COUNCIL)
