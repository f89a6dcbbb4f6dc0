"""Writes commissioning/standards/placements.schema.json, the JSON Schema derived from the
Placements Data Standard's data dictionary (commissioning/standards/placements.json).

    PYTHONPATH=. .venv/bin/python scripts/placements_schema.py          # write it
    PYTHONPATH=. .venv/bin/python scripts/placements_schema.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import sys

from commissioning.placements_standard import SCHEMA_PATH, schema_text


def main(argv: list[str]) -> int:
    text = schema_text()
    if "--check" in argv:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != text:
            print(f"{SCHEMA_PATH.name} is not what the dictionary derives: run scripts/placements_schema.py")
            return 1
        print(f"{SCHEMA_PATH.name} is up to date")
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
