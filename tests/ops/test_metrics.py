"""Issue 13: the API's and the worker's /metrics answer and carry the named series, with the values the
moves made (parsed with prometheus_client's exposition parser)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, text

from db.billing_models import BillingRunRow
from db.models import Device, OutboxMessage
from db.ticket_models import Ticket
from observability.business import BusinessCollector, awaiting_decision_states
from domain.equipment import EQUIPMENT
from tests.ops.conftest import move_a_ticket_and_a_device, samples, scrape, value
from tests.ops.failing_workflow import FailingTaskWorkflow


async def test_api_metrics_count_requests_by_route_template_and_carry_the_business_gauges(ops_api, sessions):
    await move_a_ticket_and_a_device(ops_api)
    response = await ops_api.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    m = samples(response.text)
    # request count and latency by route template (never the raw path) and status
    assert value(m, "ramflow_http_requests_total", method="POST", route="/api/v1/orders", status="201") == 1
    assert value(m, "ramflow_http_requests_total", method="POST", route="/api/v1/devices/{order_number}/events",
                 status="200") == 1
    assert value(m, "ramflow_http_requests_total", route="/api/v1/devices/{order_number}/events", status="409") == 1
    assert value(m, "ramflow_http_request_duration_seconds_count", method="POST", route="/api/v1/tickets") == 2
    assert value(m, "ramflow_http_request_duration_seconds_sum", route="/api/v1/tickets") > 0
    assert not [labels for (name, labels) in m if name == "ramflow_http_requests_total"
                and any("ORD-OPS-1" in v for _, v in labels)], "a business key leaked into a route label"
    # business gauges
    assert value(m, "ramflow_business_metrics_up") == 1
    assert value(m, "ramflow_tickets_open", line="first_line", state="first_line") == 2
    assert value(m, "ramflow_intefunktion_tickets_breached", line="first_line") == 1  # TK-5
    assert value(m, "ramflow_intefunktion_tickets_at_risk") == 0
    assert value(m, "ramflow_devices", municipality="ulricehamn", state="in_use") == 1
    assert value(m, "ramflow_devices_renewal_due", municipality="ulricehamn", within_days="30") == 0  # EQ-5
    assert value(m, "ramflow_devices_renewal_due", municipality="ulricehamn", within_days="90") == 1
    assert value(m, "ramflow_devices_renewal_due", municipality="tranemo", within_days="90") == 0
    assert value(m, "ramflow_processes_awaiting_decision", process="ticket", state="first_line") == 2
    with sessions() as s:
        unsent = s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == "pending"))
    assert unsent >= 2 and value(m, "ramflow_outbox_unsent") == unsent  # the breach went to the leads
    assert value(m, "ramflow_billing_runs_failed") == 0  # no billing run yet: 0
    # the scrape itself is neither counted nor traced
    again = samples((await ops_api.get("/metrics")).text)
    assert value(again, "ramflow_http_requests_total", route="/metrics") == 0


async def test_worker_metrics_carry_the_sdk_task_queue_and_activity_series(ops_api, ops_env, settings):
    await move_a_ticket_and_a_device(ops_api)
    m = samples(await scrape(ops_env.metrics_url))
    queue = {"task_queue": settings.temporal_task_queue}
    assert value(m, "temporal_workflow_task_schedule_to_start_latency_count", **queue) >= 4
    assert value(m, "temporal_workflow_task_execution_latency_count", **queue) >= 4
    assert value(m, "temporal_activity_execution_latency_count", **queue) >= 1  # call-off (EQ-2), MDM, ...
    assert value(m, "temporal_activity_schedule_to_start_latency_count", **queue) >= 1
    assert value(m, "temporal_num_pollers", poller_type="workflow_task", **queue) >= 1
    assert value(m, "temporal_workflow_task_execution_failed_total", **queue) == 0


async def test_worker_metrics_count_a_workflow_task_failing_repeatedly(ops_env):
    from temporalio.worker import Worker

    async with Worker(ops_env.env.client, task_queue="ops-failing", workflows=[FailingTaskWorkflow]):
        await ops_env.env.client.start_workflow(FailingTaskWorkflow.run, id="ops-failing-1", task_queue="ops-failing")
        for _ in range(100):
            m = samples(await scrape(ops_env.metrics_url))
            if value(m, "temporal_workflow_task_execution_failed_total", task_queue="ops-failing") >= 2:
                break
            await asyncio.sleep(0.1)
    assert value(m, "temporal_workflow_task_execution_failed_total", task_queue="ops-failing") >= 2


def test_awaiting_decision_states_are_those_no_timer_or_system_step_leaves():
    states = awaiting_decision_states(EQUIPMENT)
    assert "returned" in states and "awaiting_erasure" in states  # IT decides: buyout or erasure (EQ-11, EQ-12)
    assert "in_use" not in states  # the renewal timer moves it (EQ-5)
    assert "buyout_offered" not in states  # the answer deadline moves it (EQ-11)
    assert not states & EQUIPMENT.final


def test_business_gauges_at_risk_breached_renewal_windows_and_billing_runs(sessions, settings):
    now = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
    with sessions.begin() as s:
        base = dict(unit_id="TR-KS", municipality="tranemo", reporter_ref="E1", title="t", state="assigned",
                    line="second_line", reported_at=now - timedelta(hours=5), updated_at=now)
        s.add(Ticket(number="T-RISK", workflow_id="ticket-T-RISK", function="office", warned_at=now, breached=False, **base))
        s.add(Ticket(number="T-LATE", workflow_id="ticket-T-LATE", function="office", warned_at=now, breached=True, **base))
        s.add(Ticket(number="T-PLAIN", workflow_id="ticket-T-PLAIN", function=None, breached=False, **base))
        s.add(Ticket(number="T-DONE", workflow_id="ticket-T-DONE", function="office", breached=True,
                     **{**base, "state": "closed"}))
        device = dict(model_code="LAT-5450", category="workstation", agreement_ref="A", unit_id="UL-KS",
                      municipality="ulricehamn", state="in_use", ordered_at=now, renewal_months=48, updated_at=now)
        # rule EQ-5: due at delivery + 48 months − 30 days lead
        for number, delivered in (("D-20", now - timedelta(days=365 * 4 - 50)),  # due in ~20 days
                                  ("D-60", now - timedelta(days=365 * 4 - 90)),  # due in ~60 days
                                  ("D-LATER", now - timedelta(days=30))):
            s.add(Device(order_number=number, workflow_id=f"device-{number}", delivered_at=delivered, **device))
    collector = BusinessCollector(lambda: sessions, settings.renewal_lead_days, now=lambda: now)

    def gauges() -> dict:
        return {(sample.name, frozenset(sample.labels.items())): sample.value
                for family in collector.collect() for sample in family.samples}

    g = gauges()
    assert value(g, "ramflow_intefunktion_tickets_at_risk", line="second_line") == 1  # TK-5 warning share passed
    assert value(g, "ramflow_intefunktion_tickets_breached", line="second_line") == 1  # closed ones not counted
    assert value(g, "ramflow_tickets_open", line="second_line", state="assigned") == 3
    assert value(g, "ramflow_devices_renewal_due", municipality="ulricehamn", within_days="30") == 1
    assert value(g, "ramflow_devices_renewal_due", municipality="ulricehamn", within_days="90") == 2
    assert value(g, "ramflow_billing_runs_failed") == 0
    with sessions.begin() as s:  # billing runs (issue 12): published, stuck for hours, just started
        for run_id, status, started in (("b-done", "published", now - timedelta(hours=5)),
                                        ("b-stuck", "collecting", now - timedelta(hours=2)),
                                        ("b-stored", "stored", now - timedelta(hours=3)),
                                        ("b-new", "collecting", now - timedelta(minutes=5))):
            s.add(BillingRunRow(run_id=run_id, municipality="ulricehamn", period="2026-10", kind="regular",
                                status=status, requested_by="it.anna", started_at=started))
    assert value(gauges(), "ramflow_billing_runs_failed") == 2


def test_business_gauges_report_a_database_away_without_failing_the_scrape(settings):
    from db.session import make_sessionmaker

    away = make_sessionmaker("postgresql+psycopg://nobody@127.0.0.1:1/none")
    collector = BusinessCollector(lambda: away, settings.renewal_lead_days)
    names = {sample.name: sample.value for family in collector.collect() for sample in family.samples}
    assert names["ramflow_business_metrics_up"] == 0
