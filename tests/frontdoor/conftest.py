"""Fixtures of the front-door tests: a whole stack (Temporal dev server, worker, uvicorn). `stack` is the test's
own, for a test that kills or restarts a child, sets the stack's settings (marker `stack_settings`) or times its
answers (load: no work left behind by another test); `shared_stack` serves the tests that only call it and
check what they wrote (fuzz, the dev-server retry test), one start-up for both."""
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


@pytest.fixture(scope="package")
def shared_stack(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path, issuer) -> Iterator[Stack]:
    """Its tests use their own business keys and read back only what they wrote."""
    running = Stack(tmp_path_factory.mktemp("shared-stack"), migrated_template, issuer)
    try:
        yield running.start()
    finally:
        running.stop()
