"""Cost transparency's words: need bands, cost parts, review outcomes, publication statuses."""

from __future__ import annotations

from commissioning.vocabulary import FUNDING, PLACEMENT_TYPES, PROVIDER_SECTORS  # noqa: F401 - re-exported

# How much a child needs beyond a standard place, from the referral's needs and risks:
# 0–1 standard, 2–3 enhanced, 4 or more (or a deprivation of liberty order) complex.
NEED_BANDS: dict[str, str] = {
    "standard": "Standard",
    "enhanced": "Enhanced",
    "complex": "Complex",
}

SECTOR_LABELS: dict[str, str] = {
    "local_authority": "In-house (council)",
    "private": "Private",
    "voluntary": "Voluntary",
}

COST_SOURCES: dict[str, str] = {
    "contract_price": "From the placement's price",
    "entered": "Entered",
    "import": "Imported",
}

COST_PARTS: dict[str, str] = {
    "core_weekly": "Core placement cost",
    "additional_support_weekly": "Additional support (e.g. extra staffing)",
    "education_weekly": "Education",
    "health_weekly": "Health",
}

CONTRIBUTIONS: dict[str, str] = {
    "nhs_contribution_weekly": "NHS contribution",
    "education_contribution_weekly": "Education contribution",
}

REVIEW_OUTCOMES: dict[str, str] = {
    "step_down_plan": "Step-down plan agreed",
    "nhs_contribution_sought": "NHS contribution sought",
    "education_contribution_sought": "Education contribution sought",
    "price_renegotiation": "Price to be renegotiated with the provider",
    "move_to_block_place": "Move to a block contract place planned",
    "cost_justified": "Cost justified by the child's needs: no change",
    "placement_ending": "Placement ending",
}

REVIEW_REASONS: dict[str, str] = {
    "threshold": "Above the RCC's high-cost threshold",
    "outlier": "Outlier for its placement type",
}

REVIEW_STATUSES: dict[str, str] = {"open": "To review", "reviewed": "Reviewed"}
REVIEW_TAGS: dict[str, str] = {"open": "govuk-tag--orange", "reviewed": "govuk-tag--green"}

DRAFT, APPROVED, PUBLISHED = "draft", "approved", "published"
PUBLICATION_STATUSES: dict[str, str] = {DRAFT: "Draft", APPROVED: "Approved", PUBLISHED: "Published"}
PUBLICATION_TAGS: dict[str, str] = {DRAFT: "govuk-tag--grey", APPROVED: "govuk-tag--blue",
                                    PUBLISHED: "govuk-tag--green"}

RATING_ORDER: dict[str, int] = {"outstanding": 4, "good": 3, "requires_improvement": 2, "inadequate": 1}


def need_band_for(needs_and_risks: int, deprivation_of_liberty: bool) -> str:
    if deprivation_of_liberty or needs_and_risks >= 4:
        return "complex"
    return "enhanced" if needs_and_risks >= 2 else "standard"


def type_label(key: str) -> str:
    found = PLACEMENT_TYPES.get(key)
    return found.label if found else key.replace("_", " ").capitalize()


