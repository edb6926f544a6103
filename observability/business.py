"""Business gauges an IT manager asks for, read from Ramflow's database at scrape time.

A handful of grouped COUNT queries per scrape (and one narrow select of the devices in use for the
renewal windows); a database that is away makes `ramflow_business_metrics_up` 0, never a failed scrape."""
from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.agreement_models import GovernanceProcessRow
from db.billing_models import BillingRunRow
from db.models import Device, Municipality, OutboxMessage
from db.ticket_models import ServiceRequest, Ticket, aware
from domain.agreements import AGREEMENT
from domain.catalogue import Category, add_months
from domain.cloud_moves import CLOUD_MOVE
from domain.development_cases import DEVELOPMENT_CASE
from domain.equipment import EQUIPMENT, IN_USE
from domain.framework_changes import FRAMEWORK_CHANGE
from domain.process import ProcessDefinition
from domain.service_introduction import SERVICE
from domain.service_requests import SERVICE_REQUEST
from domain.tickets import OPEN_STATES, TICKET

log = logging.getLogger(__name__)

RENEWAL_WINDOWS_DAYS = (30, 90)
# A billing run (db.billing_models.BillingRunRow: collecting → stored → published) that has not published an
# hour after it started is stuck (a run takes seconds to minutes; bench/billing_run.py; a terminated workflow
# records nothing): its invoices wait. A run whose workflow failed is marked "failed" and counts at once.
BILLING_STUCK_AFTER = timedelta(hours=1)
BILLING_DONE = "published"
BILLING_FAILED = "failed"


def awaiting_decision_states(definition: ProcessDefinition) -> frozenset[str]:
    """States no timer or system step leaves: only a person's decision moves the process on."""
    leaving_by_person: set[str] = set()
    leaving_by_system: set[str] = set()
    for move in definition.moves:
        for source in move.sources:
            (leaving_by_system if move.by_system else leaving_by_person).add(source)
    return frozenset(leaving_by_person - leaving_by_system - set(definition.final))


GOVERNANCE_DEFINITIONS = {d.name: d for d in (AGREEMENT, SERVICE, CLOUD_MOVE, FRAMEWORK_CHANGE, DEVELOPMENT_CASE)}


class BusinessCollector(Collector):
    """Prometheus collector over Ramflow's own tables."""

    def __init__(self, sessions: Callable[[], sessionmaker[Session]], renewal_lead_days: int,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._sessions = sessions
        self.lead = timedelta(days=renewal_lead_days)
        self.now = now

    def describe(self) -> Iterable[Any]:
        return []  # gauges are computed at scrape time; nothing to describe at registration

    def collect(self) -> Iterable[GaugeMetricFamily]:
        started = time.perf_counter()
        up = GaugeMetricFamily("ramflow_business_metrics_up", "1 when the business gauges could be read from the database")
        try:
            with self._sessions()() as session:
                families = list(self._families(session))
        except Exception:  # noqa: BLE001 - a scrape must answer even when the database is away
            log.exception("business gauges could not be read")
            families = []
            up.add_metric([], 0)
        else:
            up.add_metric([], 1)
        yield from families
        yield up
        took = GaugeMetricFamily("ramflow_business_metrics_scrape_seconds", "time to read the business gauges")
        took.add_metric([], time.perf_counter() - started)
        yield took

    # --- the gauges -----------------------------------------------------------------------------------
    def _families(self, s: Session) -> Iterable[GaugeMetricFamily]:
        yield from self._tickets(s)
        yield from self._devices(s)
        yield self._awaiting_decision(s)
        yield from self._outbox(s)
        yield self._billing(s)

    def _tickets(self, s: Session) -> Iterable[GaugeMetricFamily]:
        open_ = GaugeMetricFamily("ramflow_tickets_open", "open support tickets per line and state (TK-2)",
                                  labels=["line", "state"])
        for line, state, count in s.execute(select(Ticket.line, Ticket.state, func.count())
                                            .where(Ticket.state.in_(OPEN_STATES)).group_by(Ticket.line, Ticket.state)):
            open_.add_metric([line, state], count)
        yield open_
        intefunktion = (Ticket.state.in_(OPEN_STATES), Ticket.function.is_not(None))
        at_risk = GaugeMetricFamily(
            "ramflow_intefunktion_tickets_at_risk",
            "open intefunktion tickets past the warning share of their fix time, not yet breached (TK-5)", labels=["line"])
        breached = GaugeMetricFamily("ramflow_intefunktion_tickets_breached",
                                     "open intefunktion tickets past their fix deadline (TK-4, TK-5)", labels=["line"])
        risk = dict(s.execute(select(Ticket.line, func.count()).where(
            *intefunktion, Ticket.warned_at.is_not(None), Ticket.breached.is_(False)).group_by(Ticket.line)).all())
        late = dict(s.execute(select(Ticket.line, func.count()).where(
            *intefunktion, Ticket.breached.is_(True)).group_by(Ticket.line)).all())
        for line in sorted(set(risk) | set(late) | {"first_line"}):  # at least one series: alerts see 0
            at_risk.add_metric([line], risk.get(line, 0))
            breached.add_metric([line], late.get(line, 0))
        yield at_risk
        yield breached

    def _devices(self, s: Session) -> Iterable[GaugeMetricFamily]:
        municipalities = list(s.scalars(select(Municipality.code)))
        by_state = GaugeMetricFamily("ramflow_devices", "devices in the register per municipality and state (the renewal "
                                     "pipeline: in_use → renewal_due → returned → erasure)", labels=["municipality", "state"])
        for municipality, state, count in s.execute(
                select(Device.municipality, Device.state, func.count())
                .where(Device.state.not_in(EQUIPMENT.final)).group_by(Device.municipality, Device.state)):
            by_state.add_metric([municipality, state], count)
        yield by_state
        now = self.now()
        horizon = {days: now + timedelta(days=days) for days in RENEWAL_WINDOWS_DAYS}
        due: Counter[tuple[str, int]] = Counter()
        rows = s.execute(select(Device.municipality, Device.delivered_at, Device.renewal_months).where(
            Device.state == IN_USE, Device.delivered_at.is_not(None), Device.renewal_months.is_not(None),
            Device.category != Category.SHORT_TERM_LAPTOP.value))
        for municipality, delivered_at, months in rows:
            delivered = aware(delivered_at)
            # rule EQ-5: the replacement is ordered `lead` before delivery + renewal period
            due_at = datetime.combine(add_months(delivered.date(), months), delivered.timetz()) - self.lead
            for days, limit in horizon.items():
                if due_at <= limit:
                    due[(municipality, days)] += 1
        renewal = GaugeMetricFamily("ramflow_devices_renewal_due",
                                    "devices in use whose renewal (EQ-5) is due within the window",
                                    labels=["municipality", "within_days"])
        for municipality in municipalities:
            for days in RENEWAL_WINDOWS_DAYS:
                renewal.add_metric([municipality, str(days)], due[(municipality, days)])
        yield renewal

    def _awaiting_decision(self, s: Session) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily("ramflow_processes_awaiting_decision",
                                  "running processes that only a person's decision moves on (no timer or system step will)",
                                  labels=["process", "state"])
        for definition, table in ((EQUIPMENT, Device), (TICKET, Ticket), (SERVICE_REQUEST, ServiceRequest)):
            waiting = awaiting_decision_states(definition)
            for state, count in s.execute(select(table.state, func.count()).where(table.state.in_(waiting))
                                          .group_by(table.state)):
                gauge.add_metric([definition.name, state], count)
        for process, state, count in s.execute(select(GovernanceProcessRow.process, GovernanceProcessRow.state,
                                                      func.count()).group_by(GovernanceProcessRow.process,
                                                                             GovernanceProcessRow.state)):
            definition = GOVERNANCE_DEFINITIONS.get(process)
            if definition is not None and state in awaiting_decision_states(definition):
                gauge.add_metric([process, state], count)
        return gauge

    def _outbox(self, s: Session) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        """Issue 21: the backlog is what waits for delivery (`pending`); sent and failed are counted from the
        outbox, the delivery log (rows are never deleted, so the counts only grow)."""
        count, oldest = s.execute(select(func.count(), func.min(OutboxMessage.created_at))
                                  .where(OutboxMessage.state == "pending")).one()
        unsent = GaugeMetricFamily("ramflow_outbox_unsent", "notifications in the outbox waiting for delivery")
        unsent.add_metric([], count)
        yield unsent
        age = GaugeMetricFamily("ramflow_outbox_oldest_unsent_age_seconds", "age of the oldest notification "
                                "waiting for delivery")
        age.add_metric([], max(0.0, (self.now() - aware(oldest)).total_seconds()) if oldest else 0.0)
        yield age
        delivered = CounterMetricFamily("ramflow_outbox_delivered", "notifications delivered (sent) or given up "
                                        "(failed: refused, no address, out of attempts)", labels=["state"])
        counts = dict(s.execute(select(OutboxMessage.state, func.count()).where(OutboxMessage.state != "pending")
                                .group_by(OutboxMessage.state)).all())
        for state in ("sent", "failed"):
            delivered.add_metric([state], counts.get(state, 0))
        yield delivered

    def _billing(self, s: Session) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily("ramflow_billing_runs_failed", "billing runs failed or stuck: not published an "
                                  "hour after they started (BL-2, BL-3)")
        cutoff = self.now() - BILLING_STUCK_AFTER  # compared here: SQLite keeps instants without their offset
        rows = s.execute(select(BillingRunRow.status, BillingRunRow.started_at)
                         .where(BillingRunRow.status != BILLING_DONE))
        gauge.add_metric([], sum(1 for status, at in rows if status == BILLING_FAILED or aware(at) < cutoff))
        return gauge
