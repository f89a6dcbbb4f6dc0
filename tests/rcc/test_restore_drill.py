"""The README's restore drill: scripts/restore-drill.sh backs up, restores into a scratch database and compares."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from rcc.models import User
from tests.factories import make_region

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "restore-drill.sh"


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("backups are pg_dump/pg_restore; run with TEST_DATABASE_URL=postgresql://...")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed")


def test_the_restore_drill_restores_every_row_and_removes_its_scratch_database(
        postgres_only, database_urls, setup_session, owner_engine):
    make_region(setup_session, "R", ("Coventry", "Warwickshire"))
    setup_session.commit()
    people = setup_session.scalar(select(func.count()).select_from(User))
    scratch = f"rcc_drill_{uuid.uuid4().hex[:8]}"

    done = subprocess.run([str(SCRIPT), database_urls.owner, scratch], capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stdout + done.stderr
    summary = re.search(r"Restore drill passed in \d+ s: (\d+) tables, (\d+) rows, migration (\w+)", done.stdout)
    assert summary is not None, done.stdout
    assert int(summary.group(1)) > 20 and int(summary.group(2)) >= people > 0
    with owner_engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        left = connection.execute(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": scratch}).scalar()
    assert summary.group(3) == version and left == 0


def test_the_restore_drill_refuses_a_database_it_cannot_reach(postgres_only, database_url):
    missing = re.sub(r"/[^/?]+(\?|$)", r"/rcc_no_such_database\1", database_url.replace("+psycopg", ""))

    done = subprocess.run([str(SCRIPT), missing], capture_output=True, text=True, timeout=60)

    assert done.returncode != 0 and "passed" not in done.stdout
