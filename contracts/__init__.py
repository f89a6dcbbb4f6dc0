"""Contracts: block tenders, sealed bids, evaluation and award, and block-contract management.

Import-light on purpose: views, the API and the demo step are imported inside ``register``.
"""

from __future__ import annotations

from typing import Any


def register(app: Any) -> None:
    from contracts import api, demo, views  # noqa: PLC0415
    from rcc.api import register_api_blueprint  # noqa: PLC0415
    from rcc.demo import add_demo_step  # noqa: PLC0415

    views.register(app)
    register_api_blueprint(app, api.bp)
    add_demo_step(app, demo.add_contracts)
    from contracts import deadlines  # noqa: PLC0415
    from rcc.ticks import add_tick_task  # noqa: PLC0415

    add_tick_task(app, "tenders closed", deadlines.close_tenders)
    add_tick_task(app, "tender deadlines reminded", deadlines.remind_tender_deadlines)
    add_tick_task(app, "contract uplifts applied", deadlines.apply_uplifts)
