"""Load test: 20 signed-in people browse referral lists and referral pages for 60 seconds.

Serves the demo region with gunicorn on PostgreSQL on this machine (127.0.0.1 only), and
prints p50/p95 latency and errors for the browsing pages and, measured in the same run
under the same load, for a bare route that does no work of its own (/healthz), asked ten
times a second by two more clients: one signed in like the browsing people, one signed out.
Target: the pages' p95 is at most 3 times the bare route's, with 0 errors.

The target is judged against the signed-in client: its requests carry the same session
cookie and pass the same sign-in check as the pages (the stack's floor for anyone signed
in), so the ratio measures what the pages themselves add. The signed-out figures are
printed beside it; that ratio also counts the sign-in check as the pages' cost.

Each person pauses between pages, as people do while they read one (--think, a mean in
seconds; each pause is drawn between half and one and a half times it). The default of one
second is quicker than anyone reads a referral. --think 0 has every person ask for the next
page the moment the last one arrives: that measures how the server queues when saturated,
where the pages' time is mostly waiting behind other people's pages.

    .venv/bin/python benchmarks/load.py [--users 20] [--seconds 60] [--think 1.0] [--json]

Needs PostgreSQL at DATABASE_SERVER_URL (default postgresql://postgres@127.0.0.1:5432/test);
creates and drops its own database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from rcc.demo import DEMO_PASSWORD, demo_totp_secret  # noqa: E402

BROWSERS = ("priya.shah@wigan.example.org", "aisha.begum@bolton.example.org",
            "dan.whitfield@north-west-rcc.example.org")


PAGES, BARE, BARE_SIGNED_OUT = "pages", "bare route", "bare route, signed out"
SERIES = (PAGES, BARE, BARE_SIGNED_OUT)
TARGET_RATIO = 3.0


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    errors: int = 0

    def add(self, started: float, ok: bool) -> None:
        self.seconds.append(time.perf_counter() - started)
        self.errors += 0 if ok else 1

    def summary(self) -> dict:
        ordered = sorted(self.seconds)
        if not ordered:
            return {"requests": 0, "errors": self.errors}
        return {"requests": len(ordered), "errors": self.errors,
                "p50_ms": round(1000 * statistics.median(ordered), 1),
                "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1)}


def main() -> int:
    options = _arguments()
    server_url = os.environ.get("DATABASE_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/test")
    database_url, drop = _fresh_database(server_url)
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": uuid.uuid4().hex * 2,
           "RCC_ENV": "development", "RCC_INSTANCE_PATH": "/tmp/rcc-load"}
    try:
        _run(["flask", "--app", "wsgi", "upgrade-db"], env)
        _run(["flask", "--app", "wsgi", "demo"], env)
        _refresh_planner_statistics(database_url)
        print("Planner statistics refreshed (ANALYZE) after loading the demo, as autovacuum would have on a "
              "live database.", file=sys.stderr)
        server = subprocess.Popen(
            [str(PROJECT / ".venv/bin/gunicorn"), "--workers", "4", "--threads", "4", "--worker-class", "gthread",
             "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
            cwd=PROJECT, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(base)
            results = _load(base, options.users, options.seconds, options.think)
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        drop()
    _report(results, options)
    errors = sum(results[name]["errors"] for name in SERIES)
    return 0 if errors == 0 and results["p95_ratio"] <= TARGET_RATIO else 1


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between one person's pages, seconds")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args()


def _fresh_database(server_url: str):  # type: ignore[no-untyped-def]
    name = f"rcc_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(server_url).set(database=name).render_as_string(hide_password=False), drop


def _refresh_planner_statistics(database_url: str) -> None:
    # A live database has had autovacuum analyse its tables; a demo loaded a second ago has not.
    engine = create_engine(make_url(database_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


def _run(command: list[str], env: dict) -> None:
    subprocess.run([str(PROJECT / ".venv/bin" / command[0]), *command[1:]], cwd=PROJECT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(base: str) -> None:
    for _ in range(100):
        try:
            if requests.get(f"{base}/healthz", timeout=5).ok:
                return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def _signed_in(base: str, email: str) -> requests.Session:
    browser = requests.Session()
    token = _csrf(browser.get(f"{base}/sign-in").text)
    browser.post(f"{base}/sign-in", data={"csrf_token": token, "email": email, "password": DEMO_PASSWORD})
    token = _csrf(browser.get(f"{base}/sign-in/security-code").text)
    response = browser.post(f"{base}/sign-in/security-code",
                            data={"csrf_token": token, "code": pyotp.TOTP(demo_totp_secret(email)).now()})
    if not response.ok or "/sign-in" in response.url:
        raise RuntimeError(f"could not sign in as {email}")
    return browser


def _another_tab(browser: requests.Session) -> requests.Session:
    tab = requests.Session()
    tab.cookies.update(browser.cookies)
    return tab


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if not found:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


def _referral_ids(browser: requests.Session, base: str) -> list[int]:
    page = browser.get(f"{base}/referrals").text
    return sorted({int(i) for i in re.findall(r'href="/referrals/(\d+)"', page)})


def _load(base: str, users: int, seconds: float, think: float) -> dict:
    # A security code works once, so each person signs in once; their virtual users are further
    # tabs of that signed-in browser (a copy of its cookie), as when one person opens many pages.
    signed_in = {email: _signed_in(base, email) for email in BROWSERS}
    people = [_another_tab(signed_in[BROWSERS[i % len(BROWSERS)]]) for i in range(users)]
    referrals = [_referral_ids(person, base) for person in people]
    if not all(referrals):
        raise RuntimeError("a browsing user sees no referrals: is the demo loaded?")
    pages, bare, bare_signed_out = Samples(), Samples(), Samples()
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()

    def browse(person: requests.Session, ids: list[int], seed: int) -> None:
        chooser = random.Random(seed)
        while time.perf_counter() < deadline:
            path = "/referrals" if chooser.random() < 0.4 else f"/referrals/{chooser.choice(ids)}"
            started = time.perf_counter()
            response = person.get(base + path)
            with lock:
                pages.add(started, response.status_code == 200)
            time.sleep(chooser.uniform(0.5, 1.5) * think)

    def probe(client: requests.Session, samples: Samples) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = client.get(f"{base}/healthz")
            with lock:
                samples.add(started, response.status_code == 200)
            time.sleep(0.1)

    threads = [threading.Thread(target=browse, args=(p, ids, n)) for n, (p, ids) in enumerate(zip(people, referrals, strict=True))]
    threads.append(threading.Thread(target=probe, args=(_another_tab(signed_in[BROWSERS[0]]), bare)))
    threads.append(threading.Thread(target=probe, args=(requests.Session(), bare_signed_out)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {PAGES: pages.summary(), BARE: bare.summary(), BARE_SIGNED_OUT: bare_signed_out.summary(), "users": users, "seconds": seconds,
            "think_seconds": think}


def _report(results: dict, options: argparse.Namespace) -> None:
    results["p95_ratio"] = _ratio(results[PAGES], results[BARE])
    results["p95_ratio_signed_out"] = _ratio(results[PAGES], results[BARE_SIGNED_OUT])
    if options.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{results['users']} signed-in users for {results['seconds']:.0f} s, pausing {results['think_seconds']:g} s "
          "on average between pages; gunicorn 4 workers x 4 threads on PostgreSQL")
    for name in SERIES:
        figures = results[name]
        print(f"  {name:<23} {figures['requests']:>6} requests  p50 {figures.get('p50_ms', 0):>7.1f} ms  "
              f"p95 {figures.get('p95_ms', 0):>7.1f} ms  errors {figures['errors']}")
    print(f"  p95 ratio pages / bare route: {results['p95_ratio']:.2f} (target <= {TARGET_RATIO:g})")
    print(f"  p95 ratio pages / bare route signed out: {results['p95_ratio_signed_out']:.2f}")


def _ratio(pages: dict, bare: dict) -> float:
    return round(pages["p95_ms"] / bare["p95_ms"], 2) if bare.get("p95_ms") and pages.get("p95_ms") else float("inf")


if __name__ == "__main__":
    raise SystemExit(main())
