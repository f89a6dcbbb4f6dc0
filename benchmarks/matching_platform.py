"""How long an RCC officer waits from "Start run" to the result page, on the demo region.

Builds the demo region in a temporary SQLite database, signs in as the demo RCC placement
officer, starts a run over every submitted referral (inline: no Redis), and times until the
result page has rendered with a row for every child. For scale it also times, in the same
process: the engine solving the run's stored snapshot alone, and rendering the home page.

    .venv/bin/python benchmarks/matching_platform.py [--repeat 3]

Target: under 5 seconds for the whole wait.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyotp
from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matching.engine import problem_from_json, solve  # noqa: E402
from matching.models import MatchingRun  # noqa: E402
from rcc.app import create_app  # noqa: E402
from rcc.db import transaction  # noqa: E402
from rcc.demo import DEMO_PASSWORD, build_demo  # noqa: E402
from rcc.migration_support import upgrade_database  # noqa: E402
from rcc.models import User  # noqa: E402
from rcc.roles import Role  # noqa: E402
from rcc.tenancy import TenantScope, set_scope  # noqa: E402

TARGET_SECONDS = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs to time (each on the same demo data)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        os.environ.pop("REDIS_URL", None)
        upgrade_database(url)
        app = create_app({"RCC_ENV": "testing", "DATABASE_URL": url, "WTF_CSRF_ENABLED": False,
                          "SERVER_NAME": "localhost", "REDIS_URL": None})
        officer = _build_demo(app)
        client = _sign_in(app, officer)
        waits, solves, rows = [], [], 0
        for _ in range(args.repeat):
            wait, run_id, rows = _start_run_and_render(client)
            waits.append(wait)
            solves.append(_solve_alone(app, run_id, rows))
        home = _time_home_page(client)
        app.extensions["rcc_engine"].dispose()
    wait, solve_alone = statistics.median(waits), statistics.median(solves)
    print(f"demo region: {rows} children in the run")
    print(f"start run -> result page rendered: {wait:.2f} s median of {len(waits)} "
          f"({', '.join(f'{w:.2f}' for w in waits)}); target < {TARGET_SECONDS:.0f} s: "
          f"{'met' if wait < TARGET_SECONDS else 'NOT met'}")
    print(f"baseline, engine solve alone on the same snapshot: {solve_alone:.2f} s "
          f"(ratio {wait / solve_alone:.2f}x)")
    print(f"baseline, home page render: {home * 1000:.1f} ms (ratio {wait / home:.0f}x)")


def _build_demo(app) -> User:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    with app.app_context():
        session = app.extensions["rcc_sessions"]()
        set_scope(session, TenantScope.system())
        with transaction(session):
            region = build_demo(session, app)
        officer = next(u for u in region.people if Role.RCC_PLACEMENT_OFFICER.value in u.roles)
        session.close()
    print(f"demo region built in {time.perf_counter() - started:.1f} s")
    return officer


def _sign_in(app, user: User):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.post("/sign-in", data={"email": user.email, "password": DEMO_PASSWORD})
    client.post("/sign-in/security-code", data={"code": pyotp.TOTP(user.totp_secret).now()})
    return client


def _start_run_and_render(client) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    response = client.post("/matching/runs/new", data={"scope": "all", "note": "Benchmark"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    wait = time.perf_counter() - started
    rows = BeautifulSoup(page.get_data(as_text=True), "html.parser").select("#proposals tbody tr")
    run_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    return wait, run_id, len(rows)


def _solve_alone(app, run_id: int, rows: int) -> float:  # type: ignore[no-untyped-def]
    session = app.extensions["rcc_sessions"]()
    set_scope(session, TenantScope.system())
    run = session.get(MatchingRun, run_id)
    assert run is not None and run.problem is not None and run.result is not None
    assert rows == run.children == len(run.result["assignments"]) + len(run.result["unmatched"]), \
        "the result page must show a row for every child"
    problem = problem_from_json(run.problem)
    session.close()
    started = time.perf_counter()
    solve(problem)
    return time.perf_counter() - started


def _time_home_page(client) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(5):
        started = time.perf_counter()
        assert client.get("/").status_code == 200
        times.append(time.perf_counter() - started)
    return statistics.median(times)


if __name__ == "__main__":
    main()
