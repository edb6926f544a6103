"""Fixtures of the schedule tests (the time-skipping server has no schedules): a Temporal dev server shared by
the folder, and one of its own for the yearly rounds' module. The agreement, framework and billing schedules have
distinct ids, and each test sets up the schedules it reads with the worker's own start-up call."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.audit import ensure_search_attributes
from tests.conftest import TEST_DATA_CONVERTER, binary


async def _dev_server() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"), data_converter=TEST_DATA_CONVERTER, ui=False)
    await ensure_search_attributes(environment.client, "default")  # issue 11: upserted on every move
    yield environment
    await environment.shutdown()


# The yearly rounds' module gets a server of its own: the mailbox poll and audit anchor modules leave their
# schedules' workflows busy on the shared one, and a pause (a signal the schedule's workflow applies) then landed
# late enough that the deploy's ensure_schedules test saw none.
dev_server = pytest_asyncio.fixture(scope="package")(_dev_server)
own_dev_server = pytest_asyncio.fixture(scope="module")(_dev_server)
