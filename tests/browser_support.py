"""Real-browser testing: the app served on a free local port, Debian's Chromium driven by
Playwright, and axe-core checking each page at WCAG 2.2 AA.

Use the ``live_server`` and ``browser_page`` fixtures (re-exported by tests/conftest.py)
and ``assert_accessible(page)``. Tests using them are marked ``browser``.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.totp import fresh_code

PROJECT_ROOT = Path(__file__).resolve().parent.parent
AXE_SCRIPT = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"


class LiveServer:
    def __init__(self, app: Flask):
        app.config["SERVER_NAME"] = None
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run `make install` (it installs it)")
    if not AXE_SCRIPT.exists():
        pytest.fail("axe-core is missing: run `make install` (npm ci)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    # axe is injected as a script tag, which our own Content-Security-Policy would rightly block.
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()


def sign_in_in_browser(page, server: LiveServer, email: str, password: str, totp_secret: str | None) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Continue").click()
    if totp_secret:
        page.get_by_label("Security code").fill(fresh_code(totp_secret))
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/")


def axe_violations(page) -> list[dict]:  # type: ignore[no-untyped-def]
    page.add_script_tag(path=str(AXE_SCRIPT))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_22_AA)
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "targets": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def assert_accessible(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    violations = axe_violations(page)
    assert violations == [], f"{page.url}: {violations}"
