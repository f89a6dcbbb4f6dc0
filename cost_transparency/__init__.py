"""Cost transparency: unit costs compared and published safely; sufficiency and market oversight.

Import-light on purpose: ``register`` imports the views only when the app is built.
Reads commissioning's placements, contracts' block contracts and matching's runs; nothing
reads this package.
"""

from __future__ import annotations

from typing import Any


def register(app: Any) -> None:
    from cost_transparency import api, demo, public, views  # noqa: PLC0415
    from rcc.api import register_api_blueprint  # noqa: PLC0415
    from rcc.demo import add_demo_step  # noqa: PLC0415
    from rcc.layout import add_home_link, add_nav_item  # noqa: PLC0415
    from rcc.roles import Role  # noqa: PLC0415

    app.register_blueprint(views.bp)
    app.register_blueprint(public.bp)
    register_api_blueprint(app, api.bp)
    from cost_transparency import deadlines  # noqa: PLC0415
    from rcc.ticks import add_tick_task  # noqa: PLC0415

    add_tick_task(app, "high-cost reviews reminded", deadlines.remind_reviews_due)
    from commissioning.retention import add_purge_step  # noqa: PLC0415

    add_purge_step(deadlines.forget_notes_of_placements)
    finance, commissioner = (Role.COUNCIL_FINANCE_LEAD,), (Role.RCC_COMMISSIONER,)
    rcc_readers = views.RCC_READERS
    add_nav_item(app, "Costs", "cost_transparency.overview", finance, order=40)
    add_nav_item(app, "Cost comparison", "cost_transparency.comparison_page", rcc_readers, order=60)
    add_nav_item(app, "High-cost reviews", "cost_transparency.reviews", commissioner, order=61)
    add_nav_item(app, "Publications", "cost_transparency.publications_list", commissioner, order=62)
    add_nav_item(app, "Sufficiency", "cost_transparency.sufficiency_page", rcc_readers, order=63)
    add_nav_item(app, "Provider risk", "cost_transparency.provider_risk_page", rcc_readers, order=64)
    add_home_link(app, "Costs", "What your council pays a week for each kind of placement, beside the region.",
                  "cost_transparency.overview", finance, order=20)
    add_home_link(app, "Placement costs", "Each placement's weekly cost, split into its parts, with contributions "
                  "from the NHS and education.", "cost_transparency.placements", finance, order=21)
    add_home_link(app, "High-cost reviews", "Placements above the RCC's threshold or unusual for their type, "
                  "and what was decided.", "cost_transparency.reviews", (*finance, *commissioner), order=22)
    add_home_link(app, "Cost comparison", "Unit costs by council, placement type, need band and sector.",
                  "cost_transparency.comparison_page", rcc_readers, order=30)
    add_home_link(app, "Publications", "Publish the comparative cost report: draft, approve, publish, correct.",
                  "cost_transparency.publications_list", commissioner, order=31)
    add_home_link(app, "Sufficiency", "Children placed, distance from home, supply and a demand forecast; "
                  "sufficiency statements.", "cost_transparency.sufficiency_page", rcc_readers, order=32)
    add_home_link(app, "Provider risk", "Spend and places by provider group, concentration and rating drops.",
                  "cost_transparency.provider_risk_page", rcc_readers, order=33)
    add_demo_step(app, demo.load_demo_costs)
    # branch whatif (issue 17): what-if market shaping
    from cost_transparency.whatif import views as whatif_views  # noqa: PLC0415

    app.register_blueprint(whatif_views.bp)
    add_home_link(app, "What if", "Replay 12 months of matching with new places of a type in an area, beside "
                  "the baseline.", "whatif.index", (*rcc_readers, *finance), order=34)
