"""Contracts: block tenders, sealed bids, evaluation and award, and block-contract management.

Import-light on purpose: views, the API and the demo step are imported inside ``register``.
"""

from __future__ import annotations

from typing import Any


def register(app: Any) -> None:
    from contracts import views  # noqa: PLC0415

    views.register(app)
