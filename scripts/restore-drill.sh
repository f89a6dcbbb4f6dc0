#!/usr/bin/env bash
# Restore drill: back the database up the way production does (pg_dump -Fc), restore the backup
# into a scratch database on the same server, and check that every table has the same number of
# rows and the schema is at the same migration. Exits non-zero if anything differs.
#
#   scripts/restore-drill.sh postgresql://owner@host:5432/rcc [scratch_database_name]
#
# Run it as a role that may read every row (a superuser or a role with BYPASSRLS): the tables
# force row-level security, and pg_dump refuses to take a partial backup. RESTORE_DRILL_KEEP=1
# keeps the scratch database and the dump file for a closer look; otherwise both are removed.
set -euo pipefail

source_url="${1:?usage: $0 postgresql://owner@host:port/database [scratch_database_name]}"
source_url="${source_url/postgresql+psycopg:\/\//postgresql://}"
source_url="${source_url/postgres:\/\//postgresql://}"
scratch="${2:-rcc_restore_drill_$(date +%Y%m%d%H%M%S)}"
if [[ ! "$scratch" =~ ^[a-z_][a-z0-9_]*$ ]]; then
  echo "The scratch database name may use lower-case letters, digits and _ only: $scratch" >&2
  exit 2
fi
base="${source_url%%\?*}"
query=""
[[ "$source_url" == *\?* ]] && query="?${source_url#*\?}"
server="${base%/*}"
admin_url="$server/postgres$query"
scratch_url="$server/$scratch$query"
dump="$(mktemp -t rcc-backup-XXXXXX.dump)"

cleanup() {
  if [[ "${RESTORE_DRILL_KEEP:-0}" != "1" ]]; then
    psql "$admin_url" -qAtX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$scratch\" WITH (FORCE)" >/dev/null || true
    rm -f "$dump"
  else
    echo "Kept the scratch database $scratch and the dump $dump"
  fi
}
trap cleanup EXIT

started=$(date +%s)
pg_dump --format=custom --file="$dump" "$source_url"
echo "Backed up to $dump ($(du -h "$dump" | cut -f1))"
psql "$admin_url" -qAtX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$scratch\"" >/dev/null
pg_restore --exit-on-error --dbname="$scratch_url" "$dump"
echo "Restored into $scratch"

# Row counts of every table, as "table count" lines, sorted; row_security off makes a count
# that row-level security would cut short an error instead of a wrong number.
count_rows() {
  local url="$1" tables sql=""
  tables=$(psql "$url" -qAtX -v ON_ERROR_STOP=1 -c \
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
  for table in $tables; do
    sql+="SELECT '$table', count(*) FROM public.\"$table\";"
  done
  psql "$url" -qAtX -v ON_ERROR_STOP=1 -F ' ' -c "SET row_security = off" -c "$sql" | sort
}

before=$(count_rows "$source_url")
after=$(count_rows "$scratch_url")
if [[ -z "$before" ]]; then
  echo "The source database has no tables: nothing to check" >&2
  exit 1
fi
if [[ "$before" != "$after" ]]; then
  echo "Restore drill FAILED: row counts differ (source < >restored)" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  exit 1
fi
version_before=$(psql "$source_url" -qAtX -c "SELECT version_num FROM alembic_version")
version_after=$(psql "$scratch_url" -qAtX -c "SELECT version_num FROM alembic_version")
if [[ "$version_before" != "$version_after" ]]; then
  echo "Restore drill FAILED: migration $version_before backed up, $version_after restored" >&2
  exit 1
fi
tables=$(echo "$before" | wc -l)
rows=$(echo "$before" | awk '{s += $2} END {print s}')
echo "Restore drill passed in $(( $(date +%s) - started )) s: $tables tables, $rows rows, migration $version_after, all equal."
