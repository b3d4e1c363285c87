"""A listening Roster server whose PUBLIC_URL is its own address, and headless Chromium.

The browser is Debian's chromium (`scripts/install_browser.sh`), driven by
Playwright's async API in the test's event loop; Playwright's own browser
downloads are never used.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from app.web import create_app
from tests.conftest import free_port, make_settings, truncate_all
from tests.pages.flows import SECURITY_HEADERS
from tests.support.mailbox import Mailbox

CHROMIUM = os.environ.get("ROSTER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class Live:
    base_url: str
    client: TestClient  # for GraphQL calls against the same server


@pytest.fixture
async def live(database_url: str, mailbox: Mailbox) -> AsyncIterator[Live]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(make_settings(database_url, mailbox, public_url=base_url))
    client = TestClient(TestServer(app, host="127.0.0.1", port=port))
    await client.start_server()
    try:
        await truncate_all()
        yield Live(base_url=base_url, client=client)
    finally:
        await client.close()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_browser.sh")
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class Opener:
    """Opens pages in fresh browser contexts and keeps any CSP violation they report."""

    browser: Browser
    violations: list[str]

    async def __call__(self, url: str, javascript: bool = True) -> Page:
        context = await self.browser.new_context(java_script_enabled=javascript)
        page = await context.new_page()
        page.on("console", self._console)
        response = await page.goto(url)
        assert response is not None
        if not javascript:  # the run really has no JavaScript
            await page.set_content("<title>x</title><script>document.title = 'ran'</script>")
            assert await page.title() == "x"
            await page.goto(url)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name.lower()] == value, name
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[Opener]:
    opener = Opener(browser, [])
    yield opener
    assert opener.violations == []


async def screenshot(page: Page, name: str) -> None:
    """Keep a picture of the page for the docs when ROSTER_SCREENSHOTS=1."""
    if os.environ.get("ROSTER_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
