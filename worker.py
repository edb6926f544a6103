"""The Ramflow worker: every workflow and activity on the configured task queue."""
from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.agreements import AgreementActivities
from activities.billing import BillingActivities, RenewalSafetyNetActivities
from activities.equipment import EquipmentActivities
from activities.governance import GovernanceActivities
from activities.renewals import RenewalActivities
from activities.tickets import TicketActivities
from config import Settings, get_settings
from db.session import make_sessionmaker
from workflows.agreements import (
    AgreementRevisionRoundWorkflow,
    AgreementWorkflow,
    CloudMoveWorkflow,
    ServiceIntroductionWorkflow,
)
from workflows.billing import BillingRunWorkflow, RenewalSafetyNetWorkflow
from workflows.equipment import DeviceLifecycleWorkflow
from workflows.governance import DevelopmentCaseWorkflow, FrameworkChangeWorkflow, FrameworkYearlyRoundWorkflow
from workflows.tickets import ServiceRequestWorkflow, TicketWorkflow

WORKFLOWS: list[type] = [DeviceLifecycleWorkflow, TicketWorkflow, ServiceRequestWorkflow,
                         AgreementWorkflow, AgreementRevisionRoundWorkflow, ServiceIntroductionWorkflow,
                         CloudMoveWorkflow, FrameworkChangeWorkflow, FrameworkYearlyRoundWorkflow,
                         DevelopmentCaseWorkflow, BillingRunWorkflow, RenewalSafetyNetWorkflow]


def all_activities(client: Client, sessions: sessionmaker[Session], settings: Settings) -> list:
    """Every activity, bound to its dependencies."""
    return [*EquipmentActivities(sessions).all(), RenewalActivities(client, sessions).rearm_renewals, *TicketActivities(sessions).all(),
            *AgreementActivities(sessions).all(), *GovernanceActivities(sessions).all(),
            *BillingActivities(sessions).all(),
            RenewalSafetyNetActivities(client, sessions, settings.renewal_lead_days).renewal_safety_net]


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace, data_converter=pydantic_data_converter
    )


def build_worker(client: Client, sessions: sessionmaker[Session], settings: Settings,
                 task_queue: str | None = None, executor: ThreadPoolExecutor | None = None) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=all_activities(client, sessions, settings),
        activity_executor=executor or ThreadPoolExecutor(max_workers=16),
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    settings = get_settings()
    client = await connect(settings)
    if settings.schedules_enabled:  # rules AG-4, GV-1: the yearly rounds (idempotent create-or-update)
        from workflows.schedules import ensure_billing_schedules, ensure_schedules

        logging.info("schedules ensured: %s", ", ".join(await ensure_schedules(client, settings)))
        # rules BL-2, BL-3, EQ-5: billing runs on each municipality's cycle, the renewal safety net
        logging.info("schedules ensured: %s", ", ".join(await ensure_billing_schedules(client, settings)))
    sessions = make_sessionmaker(settings.database_url)
    worker = build_worker(client, sessions, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with worker:  # leaving the block shuts the worker down gracefully
        logging.info("polling task queue %r on %s", settings.temporal_task_queue, settings.temporal_address)
        await stop.wait()
    logging.info("worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
