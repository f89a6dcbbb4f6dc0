"""Run data-to-insight's SSDA903 validator (DfE's rules as Python) over 903 CSV files; print JSON.

Runs ONLY under the validator's own environment (`make validator-env` makes .venv-903: the validator pins
pandas<2 and numpy<1.25, so the platform never imports it). The platform calls this script as a separate
process (commissioning.services.ssda903_validator) and reads its JSON from standard output:

    {"collection_year": "2024", "local_authority": "E08000003", "rules_run": 290,
     "issues": [{"child": "101", "table": "Episodes", "row": 0, "rule": "103", "fields": ["ETHNIC"],
                 "message": "..."}],
     "rules_failed_to_run": ["..."]}

or {"error": "..."} with exit status 2 when the files cannot be read at all. Rows are 0-based positions in
the file's data rows, as the validator reports them.

    .venv-903/bin/python scripts/validate_903.py --year 2024 --la E08000003 header.csv episodes.csv \
        [--last header_last.csv episodes_last.csv]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", required=True, help="collection year, the year the return ends: 2024 for 2023-24")
    parser.add_argument("--la", required=True, help="the council's ONS code, like E08000003")
    parser.add_argument("--last", nargs="*", default=[], help="the previous year's files")
    parser.add_argument("--rules", nargs="*", default=None, help="only these rule codes")
    parser.add_argument("files", nargs="+", help="this year's 903 CSV files (header, episodes, ...)")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # the validator logs every rule at INFO; only the JSON goes out
    warnings.simplefilter("ignore")  # pandas' FutureWarnings about the validator's own code
    try:
        from lac_validator import lac_validator
        from lac_validator.report import Report
        from lac_validator.rules.ruleset_utils import get_year_ruleset
        from lac_validator.types import UploadError
        from lac_validator.utils import process_uploaded_files
    except ImportError as error:
        print(json.dumps({"error": f"the 903 validator is not installed here ({error}); run make validator-env"}))
        return 2
    try:
        registry = get_year_ruleset(args.year)
    except (ModuleNotFoundError, ValueError):
        print(json.dumps({"error": f"the validator has no rules for collection year {args.year}"}))
        return 2
    files = process_uploaded_files({"This year": list(args.files), "Prev year": list(args.last)})
    try:
        validator = lac_validator.LacValidator(
            metadata={"collectionYear": args.year, "localAuthority": args.la}, files=files,
            registry=registry, selected_rules=args.rules)
    except UploadError as error:
        print(json.dumps({"error": str(error)}))
        return 2
    report = Report(validator.ds_results, registry)
    issues = []
    messages = {str(rule.code): (rule.message, sorted(rule.affected_fields)) for rule in registry.values()}
    frame = report.report
    for column in [c for c in frame.columns if c.startswith("ERR_")]:
        code = column[4:]
        for _, found in frame[frame[column] == True].iterrows():  # noqa: E712 (a pandas mask)
            message, fields = messages.get(code, ("", []))
            issues.append({"child": str(found["CHILD"]), "table": str(found["Table"]), "row": int(found["RowID"]),
                           "rule": code, "fields": fields, "message": str(message)})
    print(json.dumps({"collection_year": args.year, "local_authority": args.la,
                      "rules_run": len(validator.dones), "issues": issues,
                      "rules_failed_to_run": [str(code) for code in validator.fails]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
