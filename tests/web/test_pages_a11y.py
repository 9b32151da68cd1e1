"""Every console page, for each role that opens it, on a phone (390×844, inside WeCom) and a desktop
(1366×900) in Debian's Chromium (issue 20, item 8): it loads without console errors, nothing scrolls
sideways on the phone, axe-core finds nothing serious or critical, and a screenshot goes to
artifacts/screenshots/ (kept by CI). Keyboard: Tab reaches the main actions, and focus shows.

One Live server for the module; one browser tab per (member, viewport), signed in once and reused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tests.departures.test_questionnaire import LINK, approved_departure, invitations, signed_in
from tests.web.conftest import ADMIN, COMPLIANCE, csrf_of
from tests.web.test_browser import PHONE, Live, browser, live, login, shot  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
WIDE: dict[str, Any] = {"viewport": {"width": 1366, "height": 900}}
DEVICES: dict[str, dict[str, Any]] = {"phone": PHONE, "desktop": WIDE}
# The axe-core rule sets we hold the console to; only "serious" and "critical" findings fail a test.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
               "resultTypes": ["violations"]}
FAILING = frozenset({"serious", "critical"})
# Counts fetch() calls in flight, so a test waits for the data a page's script loads, not a fixed 500 ms.
FETCH_COUNTER = """(() => {
  let pending = 0; window.__idleSince = 0; window.__pending = () => pending;
  const original = window.fetch;
  window.fetch = (...args) => { pending++;
    const done = () => { pending--; window.__idleSince = performance.now(); };
    return original(...args).finally(() => setTimeout(done, 0)); };
})();"""
SETTLED = ("() => document.readyState === 'complete' && window.__pending() === 0"
           " && performance.now() - window.__idleSince > 80")

# page -> (path template, roles that open it); {customer}, {departure}, {exit} come from World.
PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "home": ("/console/", ("compliance", "admin", "hr", "finance", "manager", "salesperson")),
    "archive": ("/console/archive", ("compliance", "admin")),
    "watch": ("/console/archive/watch", ("compliance", "admin")),
    "audit": ("/console/archive/audit", ("compliance", "admin")),
    "customers": ("/console/customers", ("manager", "salesperson")),
    "customer": ("/console/customers/{customer}", ("manager", "salesperson")),
    "departures": ("/console/departures", ("hr", "manager")),
    "departure": ("/console/departures/{departure}", ("hr", "manager")),
    "departure-analysis": ("/console/departures/analysis", ("hr",)),
    "receivables": ("/console/receivables", ("finance", "salesperson")),
    "kpis": ("/console/kpis", ("manager", "salesperson")),
    "followup": ("/receivables/followup?order=A-45", ("salesperson",)),
    "exit": ("/console/exit/{exit}", ("leaver",)),
}
CASES = [pytest.param(name, role, device, id=f"{name}-{role}-{device}")
         for name, (_, roles) in PAGES.items() for role in roles for device in DEVICES]


@dataclass
class World:
    live: Live
    users: dict[str, str]
    values: dict[str, str]  # what the path templates need
    pending: int  # a departure waiting for manager(1)'s approval


@pytest.fixture(scope="module")
def world(live: Live) -> World:  # noqa: F811
    console = live.console
    leaver, successor = console.seller(0, 1), console.seller(0, 0)
    departure = approved_departure(console, leaver, successor)
    found = LINK.search(invitations(console, leaver)[0])
    assert found
    hr, html = signed_in(console, console.seed.hr)
    started = hr.post("/api/v1/departures", json={"userid": console.seller(1, 1), "last_day": "2030-02-28"},
                      headers={"X-CSRF-Token": csrf_of(html)})
    assert started.status_code == 201, started.get_json()
    console.env.drain()
    users = {"compliance": COMPLIANCE, "admin": ADMIN, "hr": console.seed.hr, "finance": console.seed.finance,
             "manager": console.manager(), "salesperson": successor, "leaver": leaver}
    values = {"customer": console.seed.customers[successor][0], "departure": str(departure), "exit": found.group(1)}
    return World(live, users, values, int(started.get_json()["id"]))


@pytest.fixture(scope="module")
def pages(browser: Any, world: World) -> Iterator[dict[tuple[str, str], Any]]:  # noqa: F811
    """(userid, device) -> a signed-in browser tab, made on first use and reused by every test."""
    made: dict[tuple[str, str], Any] = {}
    yield made
    for page in made.values():
        page.context.close()


def open_page(browser: Any, world: World, pages: dict[tuple[str, str], Any], userid: str,  # noqa: F811
              device: str) -> Any:
    if (userid, device) not in pages:
        page = login(browser, world.live, userid, "/console/", DEVICES[device])
        page.context.add_init_script(FETCH_COUNTER)
        pages[(userid, device)] = page
    return pages[(userid, device)]


@contextmanager
def watching_errors(page: Any) -> Iterator[list[str]]:
    """Console errors and uncaught exceptions while the block runs (the browser's own /favicon.ico aside)."""
    errors: list[str] = []

    def on_console(msg: Any) -> None:
        if msg.type == "error" and not str(msg.location.get("url", "")).endswith("/favicon.ico"):
            errors.append(f"console: {msg.text} ({msg.location.get('url', '')})")

    def on_error(exc: Any) -> None:
        errors.append(f"pageerror: {exc}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    try:
        yield errors
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_error)


def visit(page: Any, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    page.wait_for_function(SETTLED)


def axe_findings(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
            for v in found if v["impact"] in FAILING]


@pytest.mark.parametrize(("name", "role", "device"), CASES)
def test_page_loads_cleanly_fits_and_passes_axe(browser: Any, world: World,  # noqa: F811
                                                 pages: dict[tuple[str, str], Any], name: str, role: str,
                                                 device: str) -> None:
    page = open_page(browser, world, pages, world.users[role], device)
    with watching_errors(page) as errors:
        visit(page, world.live.url + PAGES[name][0].format(**world.values))
        shot(page, f"page-{name}-{role}-{device}")
        assert page.locator("main").count() == 1 and page.title()
        problems = axe_findings(page)
        wide = page.evaluate("document.scrollingElement.scrollWidth")
        if device == "phone" and wide > page.evaluate("window.innerWidth"):
            problems.append(f"scrolls sideways: {wide}px wide")
    assert [*errors, *problems] == []


def tab_to(page: Any, selector: str, limit: int = 40) -> None:
    """Press Tab until ``selector`` has the focus, and check the focus is drawn (:focus-visible, an outline)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            break
    else:
        pytest.fail(f"Tab never reached {selector}")
    drawn = page.evaluate("""() => { const el = document.activeElement, st = getComputedStyle(el);
      return el.matches(':focus-visible') && ((st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) > 0)
                                               || st.boxShadow !== 'none'); }""")
    assert drawn, f"{selector} has the focus but shows no focus ring"


def test_keyboard_searches_the_archive(browser: Any, world: World,  # noqa: F811
                                       pages: dict[tuple[str, str], Any]) -> None:
    page = open_page(browser, world, pages, COMPLIANCE, "desktop")
    visit(page, world.live.url + "/console/archive")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # the box has autofocus
    tab_to(page, "input[name=q]")
    page.keyboard.type("返点")
    tab_to(page, "form#filters button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("li.hit")
    tab_to(page, "li.hit button.context-toggle")
    page.keyboard.press("Enter")
    page.locator("li.hit .conversation .bubble.focus").first.wait_for()
    shot(page, "keyboard-archive-compliance-desktop")


def test_keyboard_approves_a_departure_on_a_phone(browser: Any, world: World,  # noqa: F811
                                                  pages: dict[tuple[str, str], Any]) -> None:
    page = open_page(browser, world, pages, world.live.console.manager(1), "phone")
    visit(page, f"{world.live.url}/console/departures/{world.pending}")
    page.wait_for_selector("#approval")
    assert axe_findings(page) == []  # the approval form is drawn by script: check it too
    tab_to(page, "#approval select[name=successor]")
    tab_to(page, "#approval button[data-decision=approve]")
    shot(page, "keyboard-approval-manager-phone")
    page.keyboard.press("Enter")
    page.wait_for_selector("#approval", state="detached")
    assert "待经理审批" not in page.inner_text("h1")


def test_keyboard_reaches_the_menu_and_the_followup_form(browser: Any, world: World,  # noqa: F811
                                                         pages: dict[tuple[str, str], Any]) -> None:
    page = open_page(browser, world, pages, world.users["salesperson"], "phone")
    visit(page, world.live.url + "/receivables/followup?order=A-45")
    tab_to(page, "nav.menu a")
    tab_to(page, "#note")
    tab_to(page, "#followup-detail button[type=submit]")
