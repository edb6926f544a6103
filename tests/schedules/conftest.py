"""Fixtures of the schedule tests: one Temporal dev server for the folder (the time-skipping server has no
schedules). The agreement, framework and billing schedules have distinct ids, and each test sets up the
schedules it reads with the worker's own start-up call, so the modules share it."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.audit import ensure_search_attributes
from tests.conftest import TEST_DATA_CONVERTER, binary


@pytest_asyncio.fixture(scope="package")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"), data_converter=TEST_DATA_CONVERTER, ui=False)
    await ensure_search_attributes(environment.client, "default")  # issue 11: upserted on every move
    yield environment
    await environment.shutdown()
