"""Fixtures of the console's browser tests: one whole stack per module (Temporal dev server, worker,
uvicorn with the console, the local issuer), example data made through the API, and Debian's chromium
driven by Playwright. Without chromium (or Playwright) the tests skip and say why."""
from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.frontdoor.stack import Stack, wait_for_port

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--lang=sv-SE"]  # date inputs as Swedish users see them


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM): browser tests skipped"
    return None


class ConsoleStack(Stack):
    """The embedded stack whose API process is tests.console.clock_app:app (the console's clock is a file)."""

    def __init__(self, directory: Path, *args, **settings: str) -> None:
        self.clock_file = directory / "console-clock.txt"
        super().__init__(directory, *args, console_test_clock_file=str(self.clock_file), **settings)

    def set_clock(self, at: str | None) -> None:
        """The console's 'now' (ISO 8601 with offset); None: the real clock again."""
        self.clock_file.write_text(at or "")

    def start_api(self) -> None:
        self._spawn("api", [sys.executable, "-m", "uvicorn", "tests.console.clock_app:app", "--host", "127.0.0.1",
                            "--port", str(self.api_port), "--log-level", "warning", "--timeout-keep-alive", "75"])
        wait_for_port(self.api_port, 60)


@pytest.fixture(scope="module")
def console_stack(tmp_path_factory, migrated_template: Path, issuer) -> Iterator[tuple[Stack, dict[str, str]]]:
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    from console.demo import seed

    running = ConsoleStack(tmp_path_factory.mktemp("console"), migrated_template, issuer, console_cookie_secure="false",
                           console_login_per_minute="100000")  # every test signs in from 127.0.0.1
    try:
        running.start()

        def token(sub, roles, unit=None, team=None):
            return issuer.mint(sub, roles, unit=unit, team=team, lifetime_seconds=4 * 3600)

        yield running, seed(running.base, token)
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser(console_stack):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    opened = context.new_page()
    yield opened
    context.close()
