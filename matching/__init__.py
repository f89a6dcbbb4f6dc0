"""Matching children in care to homes across a Regional Care Cooperative.

The optimiser itself lives in :mod:`matching.engine` and is plain Python: it must never
import Flask or a database layer, so it can be tested and benchmarked on its own.
Around it, this package holds the platform side: runs, review, offers, approvals and the
shortage report. ``register`` imports them lazily, so ``import matching.engine`` stays light.
"""

from __future__ import annotations

from typing import Any


def register(app: Any) -> None:
    from matching import api, cli, views  # noqa: PLC0415
    from rcc.layout import add_home_link, add_nav_item  # noqa: PLC0415
    from rcc.roles import COUNCIL_STAFF, RCC_STAFF, Role  # noqa: PLC0415

    views.register(app)
    api.register(app)
    cli.register(app)
    from commissioning.retention import add_referral_purge_step  # noqa: PLC0415
    from matching import deadlines  # noqa: PLC0415
    from matching.services.referral_packs import forget_referral_copies  # noqa: PLC0415
    from rcc.ticks import add_tick_task  # noqa: PLC0415

    add_referral_purge_step(forget_referral_copies)

    add_tick_task(app, "offers expired", deadlines.expire_offers)
    add_tick_task(app, "offers about to expire", deadlines.warn_expiring_offers)
    add_tick_task(app, "emergencies escalated", deadlines.escalate_emergencies)
    provider = (Role.PROVIDER_MANAGER,)
    add_nav_item(app, "Matching", "matching.runs_list", RCC_STAFF, 30)
    add_nav_item(app, "Offers", "matching_offers.offers_list", RCC_STAFF, 32)
    add_nav_item(app, "Shortage report", "matching_shortage.shortage_report", RCC_STAFF, 34)
    add_nav_item(app, "Offers", "matching_provider.provider_offers", provider, 30)
    add_nav_item(app, "Proposals to approve", "matching_approvals.approvals_list", COUNCIL_STAFF, 30)
    add_nav_item(app, "Placements", "matching_placements.placements", COUNCIL_STAFF, 32)
    add_home_link(app, "Matching", "Run matching across the region, review the proposals and send offers.",
                  "matching.runs_list", RCC_STAFF, 30)
    add_home_link(app, "Shortage report", "Children the latest run could not place, and where more places "
                  "would help most.", "matching_shortage.shortage_report", RCC_STAFF, 34)
    add_home_link(app, "Offers for your homes", "Accept or decline children offered to your homes.",
                  "matching_provider.provider_offers", provider, 30)
    add_home_link(app, "Proposals to approve", "Homes that have accepted one of your children, waiting for "
                  "your decision.", "matching_approvals.approvals_list", COUNCIL_STAFF, 30)
    add_home_link(app, "Placements", "Your children's placements; record when one ends.",
                  "matching_placements.placements", COUNCIL_STAFF, 32)
