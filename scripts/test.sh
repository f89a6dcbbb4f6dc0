#!/usr/bin/env bash
# The whole test suite. TEST_DATABASE_URL picks the database (default: a temporary SQLite file);
# a PostgreSQL URL names a server where the tests create and drop their own database.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest "$@"
status=$?
if [ $status -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit $status
