"""A real worker *process* for tests/equipment/test_device_import_worker_killed.py: it serves every workflow
and activity, with the import's chunks made small (5 rows); once it has started `stop_after` devices its import
activity hangs in the middle of a chunk, so the test can SIGKILL the process mid-import (no graceful shutdown,
no failed attempt reported: the server only sees silence).
Usage: python -m tests.equipment.import_worker_process TARGET_HOST SETTINGS_JSON STOP_AFTER"""
from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

import activities.device_import as device_import
from config import Settings
from db.session import make_sessionmaker
from tests.conftest import TEST_DATA_CONVERTER
from worker import WORKFLOWS, all_activities


async def main(target: str, settings: Settings, stop_after: int) -> None:
    client = await Client.connect(target, data_converter=TEST_DATA_CONVERTER)
    sessions = make_sessionmaker(settings.database_url)
    device_import.IMPORT_CHUNK, device_import.IMPORT_CONCURRENCY = 5, 1  # one device at a time, 5 per chunk
    real_starter, started = device_import.DeviceImportActivities._starter, [0]

    def hanging_starter(self, *args):  # noqa: ANN001, ANN202
        start = real_starter(self, *args)

        async def start_or_hang(row, slot):  # noqa: ANN001, ANN202
            if started[0] >= stop_after:
                await asyncio.sleep(3600)  # the test kills this process here, mid-chunk
            started[0] += 1
            return await start(row, slot)

        return start_or_hang

    device_import.DeviceImportActivities._starter = hanging_starter
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = Worker(client, task_queue=settings.temporal_task_queue, workflows=WORKFLOWS,
                        activities=all_activities(client, sessions, settings), activity_executor=executor,
                        max_cached_workflows=0)  # no sticky queue: the next worker takes the workflows at once
        print("worker ready", flush=True)
        await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Settings.model_validate_json(sys.argv[2]), int(sys.argv[3])))
