"""What the keyboard and journey tests share: signing a browser context in, moving the focus
with the keyboard alone, and saving a numbered screenshot of each page of a journey."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from rcc.models import User
from tests.browser_support import ARTIFACTS, LiveServer, assert_accessible, sign_in_in_browser
from tests.totp import fresh_code

MAX_TABS = 400


def sign_in(page: Page, server: LiveServer, person: User, password: str) -> None:
    """Sign in through the real pages (the sign-in pages themselves are tested in tests/rcc)."""
    page.context.clear_cookies()
    sign_in_in_browser(page, server, person.email, password, person.totp_secret)


def sign_in_without_pages(page: Page, server: LiveServer, person: User, password: str) -> None:
    """Sign in through the real sign-in endpoints with the page's own cookie jar, without
    touching the page: for tests whose subject is what comes after, done by keyboard alone."""
    page.context.clear_cookies()
    request = page.context.request
    answer = request.post(f"{server.url}/sign-in", form={"email": person.email, "password": password},
                          max_redirects=0)
    assert answer.status == 302, answer.text()
    if person.totp_secret:
        answer = request.post(f"{server.url}/sign-in/security-code",
                              form={"code": fresh_code(person.totp_secret)}, max_redirects=0)
        assert answer.status == 302, answer.text()


class Journey:
    """Numbered screenshots of each page, in tests/artifacts/<name>/NN-step.png, each page
    checked by axe on the way."""

    def __init__(self, name: str):
        self.name = name
        self.count = 0
        (ARTIFACTS / name).mkdir(parents=True, exist_ok=True)

    def page(self, page: Page, step: str) -> None:
        self.count += 1
        assert_accessible(page, f"{self.name}/{self.count:02d}-{step}")


# Keyboard -------------------------------------------------------------------------------

def focused_matches(page: Page, selector: str) -> bool:
    """``selector`` is a Playwright selector (CSS, or with :has-text() and the like)."""
    target = page.locator(selector)
    return target.count() > 0 and target.first.evaluate("el => el === document.activeElement")


def focused_id(page: Page) -> str:
    return page.evaluate("() => document.activeElement ? document.activeElement.id : ''")


def tab_to(page: Page, selector: str) -> None:
    """Press Tab (or Shift+Tab, if the element is above the focus) until ``selector`` has the
    focus: proves it can be reached by keyboard, in the page's own order."""
    if focused_matches(page, selector):
        return
    backwards = page.locator(selector).first.evaluate("""target => {
        const here = document.activeElement;
        if (!here || here === document.body) return false;
        return !!(target.compareDocumentPosition(here) & Node.DOCUMENT_POSITION_FOLLOWING);
    }""")
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        if focused_matches(page, selector):
            return
    raise AssertionError(f"{selector} never took the focus by pressing {key}")


def type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(text)
    assert page.input_value(selector) == text


def choose_option(page: Page, selector: str, presses: int = 1) -> str:
    """Pick an option of a closed ``<select>`` with the arrow keys."""
    tab_to(page, selector)
    for _ in range(presses):
        page.keyboard.press("ArrowDown")
    value = page.input_value(selector)
    assert value, f"{selector}: the arrow keys chose nothing"
    return value


def tick(page: Page, selector: str) -> None:
    """Select a radio button or tick a checkbox with the space bar."""
    tab_to(page, selector)
    page.keyboard.press("Space")
    assert page.is_checked(selector), f"{selector} is not selected"


def press_and_wait(page: Page, selector: str, key: str = "Enter") -> None:
    """Put the focus on a button or link and press Enter: the next page loads."""
    tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press(key)


def error_summary_links(page: Page) -> list[tuple[str, str]]:
    links = page.locator(".govuk-error-summary a")
    return [(links.nth(i).get_attribute("href") or "", links.nth(i).inner_text()) for i in range(links.count())]


def assert_error_summary_moves_focus_to_each_field(page: Page) -> list[tuple[str, str]]:
    """The error summary has the focus when the page loads; Enter on each of its links moves
    the focus to that field."""
    assert focused_matches(page, ".govuk-error-summary"), "the error summary does not have the focus"
    links = error_summary_links(page)
    assert links, "the error summary lists no problems"
    for index, (href, text) in enumerate(links):
        assert re.fullmatch(r"#[\w-]+", href), href
        tab_to(page, f".govuk-error-summary li:nth-child({index + 1}) a")
        page.keyboard.press("Enter")
        assert focused_id(page) == href[1:], f"'{text}' moved the focus to #{focused_id(page)}, not {href}"
    return links
