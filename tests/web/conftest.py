"""The browser tests: Debian's Chromium driven by Playwright against the running stack.

Chromium comes from `make browser` (scripts/install-chromium, apt). Where it can't be installed
every test here is skipped with the reason; nothing is passed without a browser.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from portal_core.database import Database
from tests.bot.stack import ROOT, Stack, running_web
from tests.web.helpers import OUTPUT, SPEECH_STUB

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _browser_unavailable() -> str | None:
    recorded = ROOT / "var" / "browser-unavailable"
    if recorded.is_file():
        return f"Chromium could not be installed: {recorded.read_text().strip()}"
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium with apt)"
    try:
        subprocess.run([str(CHROMIUM), "--version"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{CHROMIUM} does not start: {exc}"
    return None


BROWSER_FIXTURES = {"page", "context", "browser", "speech_page", "new_context"}


def _uses_browser(item: pytest.Item) -> bool:
    return bool(BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last (Playwright's sync API keeps an event loop running for the rest of
    the session, which `asyncio.run` in other tests can't share), or skipped with the reason."""
    items.sort(key=_uses_browser)  # stable: every other test keeps its order
    reason = _browser_unavailable()
    if reason is None:
        return
    for item in items:
        if _uses_browser(item):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium (Playwright's own download can't work here), headless, offline."""
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": LAUNCH_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "locale": "en-US"}


@pytest.fixture(scope="session")
def portal_web(stack: Stack) -> Iterator[str]:
    """The portal page on the stack's web port (the one origin its chat server accepts)."""
    if not (ROOT / "web" / "node_modules" / "socket.io-client").is_dir():
        pytest.fail("web/node_modules is missing: run `make web-deps` (npm ci in web/)")
    with running_web(stack) as url:
        yield url


@pytest.fixture(scope="module")
def portal(stack: Stack) -> Iterator[Database]:
    database = Database(stack.database_url)
    yield database
    database.dispose()


@pytest.fixture
def speech_page(page: Page) -> Page:
    page.add_init_script(SPEECH_STUB)
    return page


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
