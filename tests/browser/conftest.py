"""Browser tests: Playwright driving Debian's Chromium, headless, against stubs under gunicorn.

The Python `playwright` package cannot download a browser here, so it drives the `chromium`
binary of Debian's `chromium` package (`.ci/run` installs it). Without it, every browser test
is skipped with a reason that says how to install it. Screenshots go to `build/screenshots/`
(git-ignored), as the test run's artefacts.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from tests.blackbox.conftest import launch  # noqa: F401 - the fixture, for the browser tests

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
# Debian's chromium, as the developers' guide says to start it: no sandbox (CI runs as root),
# no GPU, no first-run, background networking, component updates or sync (no network here).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = (
    "Chromium not found: the browser tests drive Debian's chromium package; install it with "
    "`apt-get install -y chromium` (.ci/run does)"
)


def chromium_path() -> str | None:
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if chromium_path() is None:
        pytest.skip(MISSING)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = chromium_path()
    assert executable is not None
    chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


class ConsoleLog:
    """The page's console errors and uncaught exceptions: a test asserts there are none."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def console(self, message: ConsoleMessage) -> None:
        # Chromium asks every page's origin for /favicon.ico by itself: not the page's error.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            self.errors.append(message.text)

    def exception(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(browser: Browser, console: ConsoleLog) -> Iterator[Page]:
    """A fresh page (own context: no cookies or storage from another test), bounded waits."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    opened.on("console", console.console)
    opened.on("pageerror", console.exception)
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save the page as a test artefact; the path, for a README picture."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
