"""The API and its console for the browser tests, with one difference: the console's 'now' for the queue's
deadline marks is read from a file the test writes (empty or absent: the real clock). A dependency of the
test app (console.state.clock), never a request header; production's api.main:app has no such hook set."""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from api.main import create_app

CLOCK_FILE = os.environ.get("CONSOLE_TEST_CLOCK_FILE", "")

app = create_app()
console = next(route.app for route in app.routes if getattr(route, "path", "") == "/console")


def test_now() -> datetime:
    path = Path(CLOCK_FILE) if CLOCK_FILE else None
    text = path.read_text().strip() if path is not None and path.exists() else ""
    return datetime.fromisoformat(text) if text else datetime.now(timezone.utc)


console.state.clock = test_now
