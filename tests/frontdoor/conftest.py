"""Fixtures of the front-door tests: a whole stack (Temporal dev server, worker, uvicorn) per test."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.frontdoor.stack import Stack


@pytest.fixture
def stack(tmp_path: Path, migrated_template: Path, issuer, request: pytest.FixtureRequest) -> Iterator[Stack]:
    marker = request.node.get_closest_marker("stack_settings")
    running = Stack(tmp_path, migrated_template, issuer, **(marker.kwargs if marker else {}))
    try:
        yield running.start()
    finally:
        running.stop()
