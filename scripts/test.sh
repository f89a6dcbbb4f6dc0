#!/usr/bin/env bash
# The whole test suite. TEST_DATABASE_URL picks the database (default: a temporary SQLite file);
# a PostgreSQL URL names a server where the tests create and drop their own database.
# TEST_WORKERS (default 2) pytest-xdist workers, each with its own database; tests that use the demo
# region share one worker (tests/conftest.py), so it is built once. TEST_WORKERS=0 runs in this process.
set -uo pipefail
cd "$(dirname "$0")/.."
workers=${TEST_WORKERS:-2}
if [ "$workers" -gt 0 ]; then
  .venv/bin/python -m pytest -n "$workers" --dist loadgroup "$@"
else
  .venv/bin/python -m pytest "$@"
fi
status=$?
if [ $status -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit $status
