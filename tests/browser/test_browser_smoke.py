"""The browser setup itself: Chromium starts, loads a page from a stub, and sees its JSON."""

from __future__ import annotations

import json
from collections.abc import Callable

from playwright.sync_api import Page

from tests.blackbox.conftest import LiveServer
from tests.browser.conftest import ConsoleLog


def test_chromium_reads_the_stubs_versions_document(
    launch: Callable[..., LiveServer], page: Page, console: ConsoleLog
) -> None:
    server = launch()
    answer = page.goto(f"{server.url}/")
    assert answer is not None and answer.status == 200
    versions = json.loads(page.inner_text("body"))
    assert versions["versions"][0]["id"] == "v2"
    assert console.errors == []
