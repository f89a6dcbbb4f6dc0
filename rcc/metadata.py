"""Loads every package's models so that SQLModel's metadata describes the whole schema."""

from __future__ import annotations

import importlib

# Each capability package's models module, added as the package is built. The core only
# imports them by name (for migrations and tests); it never uses what is inside.
MODEL_MODULES: tuple[str, ...] = ("rcc.models", "rcc.notification_models", "commissioning.models", "contracts.models", "matching.models",
                                 "cost_transparency.models")


def load_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
