"""Run Social Finance's cs-demand-model on a folder of SSDA903 files as known on a cut-off day.

Run with the demand model's own environment (it pins pandas below 2), never the platform's:

    .venv-demand/bin/python scripts/demand_model_backtest.py FOLDER --cutoff 2020-03-31 [--months 12]

It prints one JSON object: the forecast children looked after at each month end after the
cut-off per placement category of the model's standard configuration (Fostering, Residential,
Supported, Other), from the model used as its own command line uses it: rates over the reference
period (by default the 6 months before the cut-off), then daily steps.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, timedelta

import pandas as pd
from cs_demand_model import DemandModellingDataContainer, ModelPredictor, PopulationStats
from cs_demand_model.config import Config
from cs_demand_model.datastore import fs_datastore


def month_ends_after(cutoff: date, months: int) -> list[date]:
    found = []
    year, month = cutoff.year, cutoff.month
    for _ in range(months):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        found.append(following - timedelta(days=1))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--cutoff", required=True, type=lambda s: datetime.strptime(s, "%Y-%m-%d").date())
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--reference-months", type=int, default=6)
    args = parser.parse_args()

    config = Config()
    container = DemandModellingDataContainer(fs_datastore(args.folder), config)
    combined = container.combined_data.copy()
    cutoff = pd.Timestamp(args.cutoff)
    combined = combined[combined["DECOM"] <= cutoff].copy()
    combined.loc[combined["DEC"] > cutoff, "DEC"] = pd.NaT
    container.__dict__["combined_data"] = combined  # the data as it was known on the cut-off day
    container.__dict__.pop("enriched_view", None)
    stats = PopulationStats(container.enriched_view, config)

    month = args.cutoff.month - args.reference_months
    year = args.cutoff.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    reference_start = date(year, month, min(args.cutoff.day, 28))
    predictor = ModelPredictor.from_model(stats, pd.Timestamp(reference_start), cutoff)
    targets = month_ends_after(args.cutoff, args.months)
    predicted = predictor.predict((targets[-1] - args.cutoff).days)
    predicted.index = [pd.Timestamp(i).date() for i in predicted.index]
    labels = {c.name: c.label for c in config.PlacementCategories}
    result: dict[str, list[float]] = {}
    for position, column in enumerate(predicted.columns):
        if not column or column[1] == "NOT_IN_CARE":
            continue
        label = labels.get(column[1], str(column[1]))
        series = dict(zip(predicted.index, predicted.iloc[:, position], strict=True))
        values = [float(series.get(day, 0.0)) for day in targets]
        result[label] = [a + b for a, b in zip(result.get(label, [0.0] * len(targets)), values, strict=True)]
    codes = {c.label: list(c.placement_types) for c in config.PlacementCategories if c.name != "NOT_IN_CARE"}
    json.dump({"cutoff": args.cutoff.isoformat(), "reference_start": reference_start.isoformat(),
               "months": [d.isoformat() for d in targets], "forecast": result, "codes": codes}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
