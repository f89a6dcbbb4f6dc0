"""How fast a council's 50,000-row referral CSV is checked and saved by the background upload.

Builds a fresh migrated database (a temporary SQLite file, or a new PostgreSQL database on the
server named by ``--database-url``, dropped at the end), makes a region with one council and its
placement officer, and generates 50,000 rows from the upload template (unique references, a date
needed 30 days ahead, no sibling group). It then starts the upload exactly as the upload page
does (``imports.start_referral_upload``, then ``rcc.jobs.start`` in thread mode) and polls the
``referral_upload`` row for progress until the job finishes.

As a baseline measured in the same run it parses the same file with ``rcc.csv_files.read_csv``
(what every CSV import pays before checking a row), so the ratio says how much the checking and
saving cost over reading the file.

    .venv/bin/python benchmarks/imports.py
    .venv/bin/python benchmarks/imports.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/imports.py --rows 5000      # a quicker look

Target: at least 2,000 rows a second on PostgreSQL (50,000 rows in under 25 s). Exits non-zero
if the upload did not finish with every row saved, or (on PostgreSQL) is below the target.

Then (``--only ssda903`` for this part alone) a council's SSDA903 return: ``--children`` generated children
(``commissioning.ssda903_generate``: real homes of the region, 1 to 3 episodes each) for the year 2024-25,
imported as the SSDA903 page does (``ssda903.start_upload``, then the job in thread mode). Target: at least
5,000 episodes a second on PostgreSQL, counting the whole job (checks, the year's replacement, bulk inserts).
CPU seconds are this process's (the job's thread included); PostgreSQL's own work is not in them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from commissioning import ssda903_generate  # noqa: E402
from commissioning.models import CareEpisode, Referral, ReferralUpload, Ssda903Upload  # noqa: E402
from commissioning.services import imports, ssda903  # noqa: E402
from rcc import audit, jobs, users  # noqa: E402
from rcc.app import create_app  # noqa: E402
from rcc.csv_files import read_csv  # noqa: E402
from rcc.db import make_engine, session_factory, transaction  # noqa: E402
from rcc.geography import local_authority_named  # noqa: E402
from rcc.metadata import load_all_models  # noqa: E402
from rcc.migration_support import upgrade_database  # noqa: E402
from rcc.models import Organisation, OrgKind, User  # noqa: E402
from rcc.roles import Role  # noqa: E402
from rcc.tenancy import TenantScope, set_scope  # noqa: E402

TARGET_ROWS_PER_SECOND = 2_000
TARGET_EPISODES_PER_SECOND = 5_000
POLL_SECONDS = 0.5
FINISHED = ("done", "failed")


def referral_csv(rows: int) -> bytes:
    """``rows`` copies of the template's example row, each a different child, needed in 30 days."""
    header, example = imports.referral_template_csv().splitlines()[:2]
    needed = (date.today() + timedelta(days=30)).isoformat()
    example = example.replace("2027-03-27", needed).replace(",Family A,yes,", ",,,")
    return "\n".join([header, *(example.replace("ABC-1234", f"BM-{n:06d}") for n in range(rows))]).encode()


@contextmanager
def fresh_database(server_url: str | None) -> Iterator[str]:
    """A migrated database for this run, removed at the end (as tests/conftest.py makes them)."""
    load_all_models()
    if server_url is None:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade_database(url)
            yield url
        return
    name = f"rcc_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False)
    try:
        upgrade_database(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_council(make_session: Callable) -> tuple[Organisation, User]:  # type: ignore[type-arg]
    """A region with one member council and that council's placement officer."""
    with make_session() as session:
        set_scope(session, TenantScope.system())
        with transaction(session):
            rcc = users.create_rcc(session, "Benchmark RCC", "Benchmark region")
            authority = local_authority_named("Coventry")
            assert authority is not None
            council = users.add_member_council(session, rcc, authority)
            session.flush()
            officer = users.create_user(session, council, "officer@example.org", "Benchmark Officer",
                                        [Role.COUNCIL_PLACEMENT_OFFICER.value], password="a-long-benchmark-password")
        session.expunge_all()
        return council, officer


def start_upload(app, council: Organisation, officer: User, data: bytes) -> int:  # type: ignore[no-untyped-def]
    """What the upload page does: keep the file on a referral_upload row, then start the job."""
    with app.extensions["rcc_sessions"]() as session:
        set_scope(session, TenantScope.for_organisation(OrgKind.COUNCIL, int(council.id or 0), council.rcc_id))
        audit.set_actor(session, audit.Actor(officer.id, council.id, council.rcc_id))
        with transaction(session):
            upload = imports.start_referral_upload(session, council, data, "benchmark.csv", submit=True)
        upload_id = int(upload.id or 0)
    assert jobs.start(app, "commissioning.services.imports:run_referral_upload", upload_id, council.rcc_id,
                      council.id, officer.id, "benchmark") == "thread"
    return upload_id


def watch(make_session: Callable, upload_id: int, started: float) -> ReferralUpload:  # type: ignore[type-arg]
    """Poll the upload's row, printing each new count of rows checked, until the job has finished."""
    last = (None, -1)
    while True:
        with make_session() as session:
            set_scope(session, TenantScope.system())
            upload = session.get(ReferralUpload, upload_id)
            assert upload is not None
            session.expunge(upload)
        if (upload.status, upload.rows_checked) != last:
            last = (upload.status, upload.rows_checked)
            print(f"  {time.perf_counter() - started:6.1f} s  {upload.status:<8} "
                  f"{upload.rows_checked:>6,} of {upload.rows_total:,} rows checked", flush=True)
        if upload.status in FINISHED:
            return upload
        if imports.upload_status(upload) == "stopped":
            raise SystemExit("the upload job stopped without finishing")
        time.sleep(POLL_SECONDS)


def import_903(app, owner: Callable, council: Organisation, officer: User, children: int,  # type: ignore[no-untyped-def,type-arg]
               postgres: bool) -> bool:
    """The 903 part: a generated year imported as the page does; True when the target is met (or SQLite).
    ``owner`` makes sessions as the database's owner, for watching the job's row (the app's role may not)."""
    make_session = app.extensions["rcc_sessions"]
    header, episodes = ssda903_generate.year_files(
        ssda903_generate.timelines("Coventry", "331", 2025, 2025, children, seed=5), 2025)
    rows = len(episodes.splitlines()) - 1
    print(f"{'PostgreSQL' if postgres else 'SQLite'}: importing a 903 year of {len(header.splitlines()) - 1:,} "
          f"children and {rows:,} episodes ({(len(header) + len(episodes)) / 1024 / 1024:.1f} MB)")
    wall, cpu = time.perf_counter(), time.process_time()
    with make_session() as session:
        set_scope(session, TenantScope.for_organisation(OrgKind.COUNCIL, int(council.id or 0), council.rcc_id))
        audit.set_actor(session, audit.Actor(officer.id, council.id, council.rcc_id))
        with transaction(session):
            upload = ssda903.start_upload(session, council, header, episodes, "benchmark", 2025)
        upload_id = int(upload.id or 0)
    assert jobs.start(app, "commissioning.services.ssda903:run_upload", upload_id, council.rcc_id, council.id,
                      officer.id, "benchmark") == "thread"
    while True:
        with owner() as session:
            set_scope(session, TenantScope.system())
            found = session.get(Ssda903Upload, upload_id)
            assert found is not None
            session.expunge(found)
        if found.status in FINISHED:
            break
        time.sleep(0.1)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    while any(t.name.startswith("job ") for t in threading.enumerate()):
        time.sleep(0.05)
    with owner() as session:
        set_scope(session, TenantScope.system())
        saved = session.scalar(select(func.count()).select_from(CareEpisode)) or 0
    rate = rows / wall
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"903 import: {found.status}, {saved:,} episodes saved{': ' + found.message if found.message else ''}")
    print(f"903 import of {rows:,} episodes: {rate:,.0f} episodes/s, {wall:.2f} s wall, {cpu:.2f} s CPU "
          f"(load average {load:.1f} on {os.cpu_count()} cores)")
    met = rate >= TARGET_EPISODES_PER_SECOND
    print(f"target ≥ {TARGET_EPISODES_PER_SECOND:,} episodes/s on PostgreSQL: {'met' if met else 'NOT met'}"
          f"{'' if postgres else ' (SQLite run: for information)'}")
    if found.status != "done" or saved != rows:
        print(f"FAILED: expected {rows:,} episodes saved, found {saved:,}")
        return False
    return met or not postgres


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=imports.MAX_REFERRAL_ROWS, help="rows in the file")
    parser.add_argument("--children", type=int, default=20_000, help="children in the 903 year")
    parser.add_argument("--only", choices=("referrals", "ssda903"), default=None, help="run one part only")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server URL (a new database is made on it and dropped); default SQLite")
    args = parser.parse_args()
    postgres = bool(args.database_url and args.database_url.startswith("postgres"))
    if args.only == "ssda903":
        with fresh_database(args.database_url if postgres else None) as url:
            os.environ.pop("REDIS_URL", None)
            app = create_app({"RCC_ENV": "testing", "DATABASE_URL": url, "REDIS_URL": None, "RCC_JOBS": "thread"})
            owner_engine = make_engine(url, app_role=None)
            owner = session_factory(owner_engine)
            council, officer = make_council(owner)
            passed = import_903(app, owner, council, officer, args.children, postgres)
            app.extensions["rcc_engine"].dispose()
            owner_engine.dispose()
        return 0 if passed else 1
    data = referral_csv(args.rows)
    with fresh_database(args.database_url if postgres else None) as url:
        os.environ.pop("REDIS_URL", None)
        app = create_app({"RCC_ENV": "testing", "DATABASE_URL": url, "REDIS_URL": None, "RCC_JOBS": "thread"})
        # Set-up and watching as the database's owner: on PostgreSQL the app's role cannot claim the system scope.
        owner_engine = make_engine(url, app_role=None)
        owner = session_factory(owner_engine)
        council, officer = make_council(owner)
        print(f"{'PostgreSQL' if postgres else 'SQLite'}: uploading {args.rows:,} referrals "
              f"({len(data) / 1024 / 1024:.1f} MB) as {council.name}")
        wall, cpu = time.perf_counter(), time.process_time()
        upload_id = start_upload(app, council, officer, data)
        upload = watch(owner, upload_id, wall)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        while any(t.name.startswith("job ") for t in threading.enumerate()):
            time.sleep(0.05)  # let the job's thread close its session before the database goes
        with owner() as session:
            set_scope(session, TenantScope.system())
            saved = session.scalar(select(func.count()).select_from(Referral)) or 0
        passed_903 = args.only == "referrals" or import_903(app, owner, council, officer, args.children, postgres)
        app.extensions["rcc_engine"].dispose()
        owner_engine.dispose()
    base_wall, base_cpu = time.perf_counter(), time.process_time()
    read_csv(data, imports.REQUIRED_REFERRAL_COLUMNS, max_bytes=imports.MAX_REFERRAL_BYTES, what="referrals")
    base_wall, base_cpu = time.perf_counter() - base_wall, time.process_time() - base_cpu
    rate = args.rows / wall
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"upload: {upload.status}, {saved:,} referrals saved{': ' + upload.message if upload.message else ''}")
    print(f"upload of {args.rows:,} rows:        {rate:,.0f} rows/s, {wall:.1f} s wall, {cpu:.1f} s CPU")
    print(f"baseline read_csv, same file: {args.rows / base_wall:,.0f} rows/s, {base_wall:.2f} s wall, "
          f"{base_cpu:.2f} s CPU")
    print(f"ratio:                        {wall / base_wall:.0f}x wall, {cpu / base_cpu:.0f}x CPU")
    print(f"machine load average:         {load:.1f} on {os.cpu_count()} cores")
    met = rate >= TARGET_ROWS_PER_SECOND
    print(f"target ≥ {TARGET_ROWS_PER_SECOND:,} rows/s on PostgreSQL: {'met' if met else 'NOT met'}"
          f"{'' if postgres else ' (SQLite run: for information)'}")
    if upload.status != "done" or saved != args.rows:
        print(f"FAILED: expected {args.rows:,} referrals saved, found {saved:,}")
        return 1
    return 0 if (met or not postgres) and passed_903 else 1


if __name__ == "__main__":
    sys.exit(main())
