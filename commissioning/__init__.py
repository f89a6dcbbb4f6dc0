"""Commissioning: referrals, sibling groups, the supply register, vacancies and placements.

Import-light on purpose: ``register`` imports the views, so ``matching.engine`` can use
``commissioning.vocabulary`` without Flask.
"""

from __future__ import annotations

from typing import Any


def register(app: Any) -> None:
    from commissioning import api, cli, demo, views  # noqa: PLC0415
    from rcc.api import register_api_blueprint  # noqa: PLC0415
    from rcc.demo import add_demo_step  # noqa: PLC0415
    from rcc.layout import add_home_link, add_nav_item  # noqa: PLC0415
    from rcc.roles import COUNCIL_STAFF, PROVIDER_STAFF, RCC_STAFF, Role  # noqa: PLC0415

    app.register_blueprint(views.bp)
    from commissioning import onboarding_views  # noqa: PLC0415 - branch onboard

    onboarding_views.register(app)
    register_api_blueprint(app, api.bp)
    from commissioning import deadlines  # noqa: PLC0415
    from rcc.ticks import add_tick_task  # noqa: PLC0415

    add_tick_task(app, "stale vacancies chased", deadlines.chase_stale_vacancies)
    from commissioning import retention  # noqa: PLC0415

    add_tick_task(app, "children's records past retention purged", retention.purge_expired)
    writers = (Role.COUNCIL_PLACEMENT_OFFICER, Role.COUNCIL_ADMIN)
    add_nav_item(app, "Region dashboard", "commissioning.region_dashboard", RCC_STAFF, order=10)
    add_nav_item(app, "Referrals", "commissioning.referrals", (*COUNCIL_STAFF, *RCC_STAFF), order=20)
    add_nav_item(app, "Sibling groups", "commissioning.sibling_groups_list", COUNCIL_STAFF, order=21)
    add_nav_item(app, "Supply register", "commissioning.supply_register", RCC_STAFF, order=30)
    add_nav_item(app, "Your homes and vacancies", "commissioning.your_homes", PROVIDER_STAFF, order=10)
    add_nav_item(app, "Foster households", "commissioning.foster_households",
                 (*COUNCIL_STAFF, *PROVIDER_STAFF, *RCC_STAFF), order=31)
    add_home_link(app, "Refer a child", "Ask the RCC to find a home for a child, or for brothers and sisters "
                  "together.", "commissioning.new_referral", writers, order=1)
    add_home_link(app, "Referrals", "Your council's referrals and where each one is.", "commissioning.referrals",
                  COUNCIL_STAFF, order=2)
    add_home_link(app, "Sibling groups", "Link referrals for brothers and sisters, and say whether to keep them "
                  "together.", "commissioning.sibling_groups_list", COUNCIL_STAFF, order=3)
    add_home_link(app, "Upload referrals", "Send several referrals at once from a CSV file.",
                  "commissioning.upload_referrals", writers, order=4)
    add_home_link(app, "Supply register", "Homes and vacancies in the region.", "commissioning.supply_register",
                  (*COUNCIL_STAFF, *RCC_STAFF), order=5)
    add_home_link(app, "Region dashboard", "Open referrals, waiting times, vacancies and sibling groups "
                  "across the region.", "commissioning.region_dashboard", RCC_STAFF, order=1)
    add_home_link(app, "Referrals", "Every member council's referrals.", "commissioning.referrals", RCC_STAFF,
                  order=2)
    add_home_link(app, "Your homes and vacancies", "Keep your homes and free places up to date.",
                  "commissioning.your_homes", PROVIDER_STAFF, order=1)
    add_home_link(app, "Foster households", "Approved foster carers: their approval, free places and postcode, "
                  "seen only by you and the RCC.", "commissioning.foster_households",
                  (*COUNCIL_STAFF, *PROVIDER_STAFF), order=6)
    add_demo_step(app, demo.load_demo_commissioning)
    cli.register(app)
