"""The DfE's SSDA903 validation rules (data-to-insight's ``csc-validator-be-903``), run in their own environment.

The validator pins pandas<2 and numpy<1.25, so it lives in ``.venv-903`` (``make validator-env``) and is run
as a separate process over files written to a temporary folder: ``scripts/validate_903.py`` prints JSON.
The platform never imports it. ``RCC_VALIDATOR_903_PYTHON`` names another interpreter that has it.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rcc.errors import ServiceError

PROJECT = Path(__file__).resolve().parents[2]
RUNNER = PROJECT / "scripts" / "validate_903.py"
TIMEOUT_SECONDS = 600


class ValidatorUnavailable(ServiceError):
    """The validator's environment is not installed, or it could not read the files."""


@dataclass(frozen=True)
class ValidatorIssue:
    table: str  # "Header" or "Episodes" (or a "_last" table)
    row: int  # the file's row as a spreadsheet shows it (header row 1)
    child: str
    rule: str
    fields: tuple[str, ...]
    message: str


def validator_python() -> Path | None:
    named = os.environ.get("RCC_VALIDATOR_903_PYTHON")
    found = Path(named) if named else PROJECT / ".venv-903" / "bin" / "python"
    return found if found.exists() else None


def validate(year: int, local_authority: str, header: bytes | None, episodes: bytes,
             rules: list[str] | None = None) -> list[ValidatorIssue]:
    """Every issue the DfE's rules for the collection year ``year`` find in the files.

    Raises ValidatorUnavailable when the validator's environment is missing or it refuses the files."""
    python = validator_python()
    if python is None:
        raise ValidatorUnavailable("The DfE's 903 validator is not installed on this server "
                                   "(make validator-env), so only the platform's own checks were made.")
    with tempfile.TemporaryDirectory(prefix="rcc-903-") as folder:
        files = []
        for name, data in (("header.csv", header), ("episodes.csv", episodes)):
            if data is not None:
                (Path(folder) / name).write_bytes(data)
                files.append(name)
        command = [str(python), str(RUNNER), "--year", str(year), "--la", local_authority, *files]
        if rules:
            command += ["--rules", *rules]
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True,  # noqa: S603 - fixed argv
                              timeout=TIMEOUT_SECONDS, check=False)
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError) as error:
        raise ValidatorUnavailable("The DfE's 903 validator stopped without an answer.") from error
    if "error" in answer:
        raise ValidatorUnavailable(f"The DfE's 903 validator could not read the files: {answer['error']}")
    return [ValidatorIssue(issue["table"], int(issue["row"]) + 2, issue["child"], issue["rule"],
                           tuple(issue["fields"]), issue["message"]) for issue in answer["issues"]]
