"""Fixtures of the console's browser tests: one whole stack per module (Temporal dev server, worker,
uvicorn with the console, the local issuer), example data made through the API, and Debian's chromium
driven by Playwright. Without chromium (or Playwright) the tests skip and say why."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.frontdoor.stack import Stack

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


@pytest.fixture(scope="module")
def console_stack(tmp_path_factory, migrated_template: Path, issuer) -> Iterator[tuple[Stack, dict[str, str]]]:
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    from console.demo import seed

    running = Stack(tmp_path_factory.mktemp("console"), migrated_template, issuer, console_cookie_secure="false")
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
