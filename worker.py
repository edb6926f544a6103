"""The Ramflow worker: every workflow and activity on the configured task queue."""
from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Worker

from activities.agreements import AgreementActivities
from activities.audit import AuditActivities, ensure_search_attributes
from activities.billing import BillingActivities, RenewalSafetyNetActivities
from activities.device_import import DeviceImportActivities
from activities.equipment import EquipmentActivities
from activities.file_delivery import FileDeliveryActivities
from activities.mail import DeliveryStarter, MailActivities
from activities.governance import GovernanceActivities
from activities.mailbox import MailboxActivities
from activities.outbox import OutboxActivities
from activities.people import PeopleActivities
from activities.reorganisations import ReorganisationActivities
from activities.premises import PremisesActivities
from activities.renewals import RenewalActivities
from activities.tickets import TicketActivities
from codec import make_data_converter, settings_keys
from config import Settings, get_settings
from db.session import make_sessionmaker
from observability.logging import configure_logging
from observability.temporal_metrics import worker_runtime
from observability.tracing import instrument_database, setup_tracing, tracing_interceptor
from workflows.agreements import (
    AgreementRevisionRoundWorkflow,
    AgreementWorkflow,
    CloudMoveWorkflow,
    ServiceIntroductionWorkflow,
)
from workflows.audit import AuditAnchorWorkflow
from workflows.billing import BillingRunWorkflow, RenewalSafetyNetWorkflow
from workflows.device_import import DeviceImportWorkflow
from workflows.equipment import DeviceLifecycleWorkflow
from workflows.file_delivery import FileDeliverySweepWorkflow, FileDeliveryWorkflow
from workflows.mail import MailDeliveryWorkflow, MailSweepWorkflow
from workflows.mail_in import MailboxPollWorkflow
from workflows.governance import DevelopmentCaseWorkflow, FrameworkChangeWorkflow, FrameworkYearlyRoundWorkflow
from workflows.people import PersonLeaverWorkflow
from workflows.reorganisations import UnitReorganisationWorkflow
from workflows.premises import PremisesProjectWorkflow
from workflows.renewals import RenewalPolicyRearmWorkflow
from workflows.tickets import ServiceRequestWorkflow, TicketWorkflow

WORKFLOWS: list[type] = [DeviceLifecycleWorkflow, TicketWorkflow, ServiceRequestWorkflow,
                         AgreementWorkflow, AgreementRevisionRoundWorkflow, ServiceIntroductionWorkflow,
                         CloudMoveWorkflow, FrameworkChangeWorkflow, FrameworkYearlyRoundWorkflow,
                         DevelopmentCaseWorkflow, PremisesProjectWorkflow, BillingRunWorkflow, RenewalSafetyNetWorkflow,
                         RenewalPolicyRearmWorkflow, AuditAnchorWorkflow, MailDeliveryWorkflow, MailSweepWorkflow,
                         MailboxPollWorkflow, PersonLeaverWorkflow, UnitReorganisationWorkflow,
                         DeviceImportWorkflow, FileDeliveryWorkflow, FileDeliverySweepWorkflow]


def all_activities(client: Client, sessions: sessionmaker[Session], settings: Settings) -> list:
    """Every activity, bound to its dependencies."""
    starter = DeliveryStarter(client, settings)  # issue 21: a written notification starts its delivery
    return [*EquipmentActivities(sessions).all(), RenewalActivities(client, sessions).rearm_renewals,
            *TicketActivities(sessions, starter).all(), *MailActivities(client, sessions, settings).all(),
            *AgreementActivities(sessions).all(), *GovernanceActivities(sessions).all(),
            *PremisesActivities(sessions).all(), *AuditActivities(client, sessions, settings).all(),
            *OutboxActivities(sessions, starter).all(), *BillingActivities(sessions).all(),  # its notices: the sweep
            *MailboxActivities(client, sessions, settings).all(),
            RenewalSafetyNetActivities(client, sessions, settings.renewal_lead_days).renewal_safety_net,
            *PeopleActivities(client, sessions).all(), *ReorganisationActivities(client, sessions).all(),
            DeviceImportActivities(client, sessions).start_devices,
            *FileDeliveryActivities(sessions, settings, client).all()]


def local_activities(activities: list) -> frozenset[str]:
    """The names the workflows run as local activities, collected from the steps the activities
    implement (`@STEP.defn`, workflows/steps.py)."""
    steps = (getattr(fn, "__ramflow_step__", None) for fn in activities)
    return frozenset(step.name for step in steps if step is not None and step.local)


async def connect(settings: Settings, runtime: Runtime | None = None, lazy: bool = False) -> Client:
    """The process's one client: payloads encrypted when keys are configured (issue 11, codec.py); its
    tracing interceptor also traces the workers built on it (issue 13). `lazy`: connect at the first call
    (the API starts, and answers 503, while Temporal is away)."""
    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace,
        data_converter=make_data_converter(settings_keys(settings)),
        interceptors=[tracing_interceptor()], runtime=runtime, lazy=lazy,
    )


def build_worker(client: Client, sessions: sessionmaker[Session], settings: Settings,
                 task_queue: str | None = None, executor: ThreadPoolExecutor | None = None) -> Worker:
    activities = all_activities(client, sessions, settings)
    logging.debug("local activities: %s", ", ".join(sorted(local_activities(activities))))
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=activities,
        activity_executor=executor or ThreadPoolExecutor(max_workers=16),
    )


async def main() -> None:
    settings = get_settings()
    configure_logging(settings, "worker")  # issue 13: JSON events in production, text on the embedded stack
    setup_tracing(settings, "ramflow-worker")
    if settings.payload_encryption_keys is None:
        logging.warning("PAYLOAD_ENCRYPTION_KEYS is unset: Temporal stores payloads (employee numbers) in clear text")
    client = await connect(settings, worker_runtime(settings))  # the SDK's Prometheus /metrics
    if settings.worker_metrics_port:
        logging.info("worker metrics on http://%s:%d/metrics", settings.worker_metrics_host, settings.worker_metrics_port)
    # issue 11: the workflows upsert these on every move; a namespace without them would stall them
    await ensure_search_attributes(client, settings.temporal_namespace)
    if settings.schedules_enabled:  # rules AG-4, GV-1: the yearly rounds (idempotent create-or-update)
        from workflows.schedules import ensure_billing_schedules, ensure_schedules

        logging.info("schedules ensured: %s", ", ".join(await ensure_schedules(client, settings)))
        # rules BL-2, BL-3, EQ-5: billing runs on each municipality's cycle, the renewal safety net
        logging.info("schedules ensured: %s", ", ".join(await ensure_billing_schedules(client, settings)))
        if settings.audit_anchor_key is not None:  # issue 20: the audit chains' signed checkpoints
            from workflows.schedules import ensure_audit_anchor_schedule

            logging.info("schedules ensured: %s", ", ".join(await ensure_audit_anchor_schedule(client, settings)))
        if settings.mail_transport != "off":  # issue 21: the safety net of mail delivery, every minute
            from workflows.schedules import ensure_mail_schedule

            logging.info("schedules ensured: %s", ", ".join(await ensure_mail_schedule(client, settings)))
        # issue 25: the safety net of file delivery (pending files whose start was lost)
        from workflows.schedules import ensure_file_delivery_schedule

        logging.info("schedules ensured: %s", ", ".join(await ensure_file_delivery_schedule(client, settings)))
        # issue 21: the support mailbox is read every mail_poll_seconds (none when mail_in_source is off)
        from workflows.schedules import ensure_mailbox_schedule

        logging.info("schedules ensured: %s", ", ".join(await ensure_mailbox_schedule(client, settings)))
    sessions = make_sessionmaker(settings.database_url)
    instrument_database(sessions)
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
