"""Browser journeys: Debian's Chromium driven by Python Playwright against pytest-django's live server.

Never `playwright install`: the browser is /usr/bin/chromium (the `chromium` Debian package; `fonts-wqy-microhei`
renders the Chinese). Each journey runs at phone size (390×844) and desktop size (1280×800) and saves full-page
screenshots to artifacts/screenshots/<journey>-<viewport>-<step>.png; every screenshot step also checks that
nothing is wider than the screen, and that the Content-Security-Policy blocked nothing (a violation is a page
that still carries inline style or script: its console message and its securitypolicyviolation event are both
collected, from every page the journey opens).
"""
from __future__ import annotations

import os
from pathlib import Path

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest  # noqa: E402

CHROMIUM = Path(os.environ.get("JIAOGUAN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium and fonts-wqy-microhei (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> str:
    return request.param


class Journey:
    """A browser tab at one viewport, with the live server's address and a screenshot helper."""

    def __init__(self, browser, name: str, viewport: str, base_url: str):
        phone = viewport == "phone"
        self.context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN", is_mobile=phone,
                                           has_touch=phone, device_scale_factor=2 if phone else 1)
        # every page of this context reports its CSP violations (securitypolicyviolation events, before any
        # script of the page runs) into window.__cspViolations; the console's "Content Security Policy" messages
        # are collected too
        self.context.add_init_script(
            """window.__cspViolations = [];
               document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(
                 e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber));"""
        )
        self.csp_console: list[str] = []
        self.context.on("console", self._console)
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.name, self.viewport, self.base_url = name, viewport, base_url
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def goto(self, path: str):
        return self.page.goto(self.base_url + path)

    def _capture(self, path: Path) -> None:
        """A full-page screenshot. Chromium sometimes answers "Unable to capture screenshot" on a loaded CI box (the
        compositor had no frame ready): that is the camera, not the page, so it is tried again — twice at most,
        half a second apart; any other error, or a third failure, stands."""
        from playwright.sync_api import Error as PlaywrightError

        for attempt in range(3):
            try:
                self.page.screenshot(path=str(path), full_page=True)
                return
            except PlaywrightError as exc:
                if "Unable to capture screenshot" not in str(exc) or attempt == 2:
                    raise
                self.page.wait_for_timeout(500)

    def shot(self, step: str) -> Path:
        """Save a full-page screenshot and check the page fits the screen's width (no sideways scrolling)."""
        path = SCREENSHOTS / f"{self.name}-{self.viewport}-{step}.png"
        self.page.wait_for_load_state("load")
        width = VIEWPORTS[self.viewport]["width"]
        scroll_width = self.page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{path.name}: the page is {scroll_width}px wide on a {width}px screen"
        self._capture(path)
        overflow = self.page.evaluate(
            """() => { const w = document.documentElement.clientWidth;
                       return [...document.querySelectorAll('body *')]
                         .filter(e => e.getBoundingClientRect().right > w + 1 && getComputedStyle(e).position !== 'absolute')
                         .slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').trim().slice(0, 40)); }"""
        )
        assert overflow == [], f"{path.name}: wider than the screen: {overflow}"
        self.assert_no_csp_violation()
        return path

    def text(self) -> str:
        return self.page.inner_text("body")

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_console.append(f"{message.page.url if message.page else '?'}: {message.text}")

    def csp_violations(self) -> list[str]:
        """What the policy blocked on the current page (its events) and on every page so far (the console)."""
        events = self.page.evaluate("window.__cspViolations || []")
        return [f"{self.page.url}: {v}" for v in events] + self.csp_console

    def assert_no_csp_violation(self) -> None:
        self.page.wait_for_load_state("load")
        violations = self.csp_violations()
        assert violations == [], f"{self.name}-{self.viewport}: the Content-Security-Policy blocked: {violations}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def journey(browser, viewport, live_server, request):
    made = []

    def start(name: str) -> Journey:
        j = Journey(browser, name, viewport, live_server.url)
        made.append(j)
        return j

    yield start
    for j in made:
        j.close()
