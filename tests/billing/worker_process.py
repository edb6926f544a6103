"""A real worker *process* for tests/billing/test_billing_worker_killed.py: it serves every activity, but
after storing `stop_after` invoice bases its `billing.store_basis` hangs, so the test can SIGKILL the
process mid-run (no graceful shutdown, no failed attempt reported: the server only sees silence).
Usage: python -m tests.billing.worker_process TARGET_HOST SETTINGS_JSON STOP_AFTER"""
from __future__ import annotations

import asyncio
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from activities.billing import BillingActivities
from config import Settings
from db.session import make_sessionmaker
from domain.billing import BasisSummary, UnitBasisRequest
from tests.conftest import TEST_DATA_CONVERTER
from worker import WORKFLOWS, all_activities


async def main(target: str, settings: Settings, stop_after: int) -> None:
    client = await Client.connect(target, data_converter=TEST_DATA_CONVERTER)
    sessions = make_sessionmaker(settings.database_url)
    real, lock, started = BillingActivities(sessions), threading.Lock(), [0]

    @activity.defn(name="billing.store_basis")
    def store_or_hang(request: UnitBasisRequest) -> BasisSummary:
        with lock:
            started[0] += 1
            mine = started[0]
        if mine > stop_after:
            time.sleep(3600)  # the test kills this process here
        return real.store_basis(request)

    activities = [a for a in all_activities(client, sessions, settings)
                  if getattr(a, "__temporal_activity_definition").name != "billing.store_basis"]
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = Worker(client, task_queue=settings.temporal_task_queue, workflows=WORKFLOWS,
                        activities=[*activities, store_or_hang], activity_executor=executor,
                        max_cached_workflows=0)  # no sticky queue: the next worker takes the workflow at once
        print("worker ready", flush=True)
        await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Settings.model_validate_json(sys.argv[2]), int(sys.argv[3])))
