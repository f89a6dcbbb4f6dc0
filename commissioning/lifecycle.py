"""The referral lifecycle: every status and every legal move between them, in one place."""

from __future__ import annotations

from rcc.errors import Conflict

DRAFT = "draft"
SUBMITTED = "submitted"
IN_MATCHING = "in_matching"
OFFERED = "offered"
PROPOSAL_APPROVED = "proposal_approved"
PLACED = "placed"
ENDED = "ended"
WITHDRAWN = "withdrawn"

STATUS_LABELS: dict[str, str] = {
    DRAFT: "Draft",
    SUBMITTED: "Submitted",
    IN_MATCHING: "In matching",
    OFFERED: "Offered",
    PROPOSAL_APPROVED: "Proposal approved",
    PLACED: "Placed",
    ENDED: "Ended",
    WITHDRAWN: "Withdrawn",
}

# GOV.UK tag colour for each status.
STATUS_TAG_CLASSES: dict[str, str] = {
    DRAFT: "govuk-tag--grey",
    SUBMITTED: "govuk-tag--blue",
    IN_MATCHING: "govuk-tag--light-blue",
    OFFERED: "govuk-tag--purple",
    PROPOSAL_APPROVED: "govuk-tag--turquoise",
    PLACED: "govuk-tag--green",
    ENDED: "govuk-tag--grey",
    WITHDRAWN: "govuk-tag--red",
}

OPEN_STATUSES: tuple[str, ...] = (DRAFT, SUBMITTED, IN_MATCHING, OFFERED, PROPOSAL_APPROVED)
# Referrals the RCC is working on: submitted and not yet placed or withdrawn.
LIVE_STATUSES: tuple[str, ...] = (SUBMITTED, IN_MATCHING, OFFERED, PROPOSAL_APPROVED)

# Every legal move. "offered" goes back to "in_matching" when the provider declines or
# the council rejects the proposed home.
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({SUBMITTED, WITHDRAWN}),
    SUBMITTED: frozenset({IN_MATCHING, WITHDRAWN}),
    IN_MATCHING: frozenset({OFFERED, WITHDRAWN}),
    OFFERED: frozenset({PROPOSAL_APPROVED, IN_MATCHING, WITHDRAWN}),
    PROPOSAL_APPROVED: frozenset({PLACED, WITHDRAWN}),
    PLACED: frozenset({ENDED}),
    ENDED: frozenset(),
    WITHDRAWN: frozenset(),
}


def label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def check_transition(current: str, wanted: str) -> None:
    """Raise Conflict, naming both states, unless ``current`` may move to ``wanted``."""
    if wanted not in TRANSITIONS.get(current, frozenset()):
        allowed = sorted(TRANSITIONS.get(current, frozenset()), key=list(STATUS_LABELS).index)
        options = ", ".join(f"'{label(s)}'" for s in allowed) or "nothing (it is closed)"
        raise Conflict(f"A referral that is '{label(current)}' cannot become '{label(wanted)}'. "
                       f"From '{label(current)}' it can only become {options}.")
