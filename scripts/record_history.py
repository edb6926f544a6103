"""Record event histories as JSON for the replay test (tests/workflows/test_replay.py).

    .venv/bin/python -m scripts.record_history device tests/workflows/histories/device_renewal_buyout_<change>.json
    .venv/bin/python -m scripts.record_history ticket tests/workflows/histories/ticket_escalated_breached.json
    .venv/bin/python -m scripts.record_history device_fidelity tests/workflows/histories/device_notice_return_under_notice.json
    .venv/bin/python -m scripts.record_history premises tests/workflows/histories/premises_network_node_ready.json
    .venv/bin/python -m scripts.record_history device tests/workflows/histories/device_renewal_buyout_neutral_notify.json
    .venv/bin/python -m scripts.record_history device_early tests/workflows/histories/device_delivered_while_called_off.json
    .venv/bin/python -m scripts.record_history framework tests/workflows/histories/framework_separation_of_duties.json
(the device ones take every patch of the device workflow, "neutral-notify-activity" included; the last device
one also "commands-wait-for-registration" and "recorded-dates-not-in-the-future"; the framework one
"separation-of-duties-in-the-workflow").
Keep the old files: each is a history a running workflow may have. Guard a change with workflow.patched
(e.g. "eq11-employee-answers-buyout" in workflows/equipment.py), record a new file that takes the new
path, and the replay test proves today's code replays both."""
from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.audit import ensure_search_attributes
from config import Settings
from db.migrate import upgrade
from db.seed import load_reference_data
from db.session import make_sessionmaker
from domain.equipment import (
    AcceptBuyout,
    Deliver,
    DeviceCommand,
    DeviceOrder,
    DeviceStart,
    GiveNotice,
    OfferBuyout,
    RecordErasure,
    SendToErasure,
    WithdrawNotice,
    device_workflow_id,
)
from domain.support_lines import Line
from domain.tickets import (
    Assign,
    Close,
    Escalate,
    Resolve,
    Resume,
    TicketCommand,
    TicketReport,
    TicketStart,
    WaitForCustomer,
    ticket_workflow_id,
)
from worker import build_worker
from workflows.equipment import DeviceLifecycleWorkflow
from workflows.tickets import TicketWorkflow

QUEUE = "record-history"


async def wait_for(handle: WorkflowHandle, query, predicate) -> None:
    while not predicate(await handle.query(query)):
        await asyncio.sleep(0.05)


async def device_renewal_buyout(client: Client, env: WorkflowEnvironment, early: bool = False) -> WorkflowHandle:
    """Order, delivery, notice withdrawn, renewal at 47 months, buyout with erasure (EQ-5, EQ-8, EQ-11, EQ-12).
    `early`: the delivery comes with the start (Update-with-Start), while the order is still being called off
    (patch "commands-wait-for-registration")."""
    order = DeviceOrder(order_number="ORD-HIST-1", model_code="LAT-5450", unit_id="TR-KS", user_ref="E5001")

    async def act(target: WorkflowHandle, action, actor: str = "it.anna") -> None:
        await target.execute_update(DeviceLifecycleWorkflow.apply, DeviceCommand(actor=actor, action=action))

    if early:
        await client.execute_update_with_start_workflow(
            DeviceLifecycleWorkflow.apply, DeviceCommand(actor="it.anna", action=Deliver(serial_number="SN-H")),
            start_workflow_operation=WithStartWorkflowOperation(
                DeviceLifecycleWorkflow.run, DeviceStart(order=order), id=device_workflow_id("ORD-HIST-1"),
                task_queue=QUEUE, id_conflict_policy=WorkflowIDConflictPolicy.FAIL))
        handle = client.get_workflow_handle(device_workflow_id("ORD-HIST-1"))
    else:
        handle = await client.start_workflow(DeviceLifecycleWorkflow.run, DeviceStart(order=order),
                                             id=device_workflow_id("ORD-HIST-1"), task_queue=QUEUE)
        await handle.execute_update(DeviceLifecycleWorkflow.registered)
        await act(handle, Deliver(serial_number="SN-H"))
    await act(handle, GiveNotice())
    await act(handle, WithdrawNotice())
    await env.sleep(timedelta(days=48 * 31))
    await wait_for(handle, DeviceLifecycleWorkflow.view, lambda v: v.replacement_order is not None)
    child = client.get_workflow_handle(device_workflow_id("ORD-HIST-1-R1"))
    await act(child, Deliver(serial_number="SN-H2"))
    await wait_for(handle, DeviceLifecycleWorkflow.view, lambda v: v.state == "returned")
    await act(handle, OfferBuyout(price=Decimal("1200.00")))
    await act(handle, AcceptBuyout(), actor="E5001")  # rule EQ-11: the employee answers
    await act(handle, SendToErasure(vendor="Inrego AB"))
    await act(handle, RecordErasure(vendor="Inrego AB", certificate_id="CERT-H"))
    await handle.result()
    await child.terminate("recorded")
    return handle


async def ticket_escalated_breached(client: Client, env: WorkflowEnvironment) -> WorkflowHandle:
    """Intefunktion ticket: 1st → 2nd line, paused and resumed, to infrastruktur, warned, breached, closed
    (TK-2, TK-4, TK-5, TK-6)."""
    report = TicketReport(number="T-HIST-1", unit_id="TR-KS", reporter_ref="E5001", title="Outlook does not start",
                          function="email_calendar")
    handle = await client.start_workflow(TicketWorkflow.run, TicketStart(report=report),
                                         id=ticket_workflow_id("T-HIST-1"), task_queue=QUEUE)
    await handle.execute_update(TicketWorkflow.registered)

    async def act(action) -> None:
        await handle.execute_update(TicketWorkflow.apply, TicketCommand(actor="it.anna", action=action))

    await act(Assign(assignee="it.first"))
    await act(Escalate(to=Line.SECOND))
    await act(Assign(assignee="it.tech"))
    await act(WaitForCustomer(question="Does webmail work?"))
    await env.sleep(timedelta(hours=20))
    await act(Resume())
    await act(Escalate(to=Line.INFRASTRUKTUR))
    await act(Assign(assignee="it.infra"))
    await env.sleep(timedelta(days=6))
    await wait_for(handle, TicketWorkflow.view, lambda v: v.breached)
    await act(Resolve(resolution="connector restarted"))
    await act(Close())
    await handle.result()
    return handle


async def device_notice_return_fidelity(client: Client, env: WorkflowEnvironment) -> WorkflowHandle:
    """After rule-fidelity-eq8-eq11-eq12: returned to IT under notice, still charged, then reassigned (EQ-8)."""
    from domain.equipment import Reassign, ReportLost, ReturnDevice, WriteOff

    order = DeviceOrder(order_number="ORD-HIST-3", model_code="LAT-5450", unit_id="TR-KS", user_ref="E5001")
    handle = await client.start_workflow(DeviceLifecycleWorkflow.run, DeviceStart(order=order),
                                         id=device_workflow_id("ORD-HIST-3"), task_queue=QUEUE)
    await handle.execute_update(DeviceLifecycleWorkflow.registered)
    for action in (Deliver(serial_number="SN-H4"), GiveNotice(), ReturnDevice(), Reassign(unit_id="TR-SOC"),
                   ReportLost(), WriteOff()):
        await handle.execute_update(DeviceLifecycleWorkflow.apply, DeviceCommand(actor="it.anna", action=action))
    await handle.result()
    return handle


async def device_imported(client: Client, env: WorkflowEnvironment) -> WorkflowHandle:
    """Issue 22 (patch "eq1-device-import-mid-life-start"): a device of the old register starts mid-life, in use
    since its delivery date three years ago; notice, the rental term ends, erasure, disposal."""
    from datetime import datetime, timezone

    from domain.equipment import Dispose, GiveNotice, ImportedDevice, RecordErasure, SendToErasure

    now = datetime.now(timezone.utc)
    order = DeviceOrder(order_number="ORD-HIST-5", model_code="LAT-5450", unit_id="TR-KS", user_ref="E5001")
    imported = ImportedDevice(serial_number="SN-H5", delivered_at=now - timedelta(days=3 * 365),
                              charges_from=now.date(), source="register.csv", import_id="0" * 64)
    handle = await client.start_workflow(DeviceLifecycleWorkflow.run, DeviceStart(order=order, imported=imported,
                                                                                  ordered_by="it.anna"),
                                         id=device_workflow_id("ORD-HIST-5"), task_queue=QUEUE)
    await handle.execute_update(DeviceLifecycleWorkflow.registered)
    await handle.execute_update(DeviceLifecycleWorkflow.apply, DeviceCommand(actor="it.anna", action=GiveNotice()))
    await env.sleep(timedelta(days=400))  # rule EQ-8: the rental term (48 months from delivery) ends
    await wait_for(handle, DeviceLifecycleWorkflow.view, lambda v: v.state == "returned")
    for action in (SendToErasure(vendor="Inrego AB"), RecordErasure(vendor="Inrego AB", certificate_id="CERT-H5"),
                   Dispose()):
        await handle.execute_update(DeviceLifecycleWorkflow.apply, DeviceCommand(actor="it.anna", action=action))
    await handle.result()
    return handle


async def premises_ready(client: Client, env: WorkflowEnvironment) -> WorkflowHandle:
    """A network node from invitation to ready: requirements, design approval, racks, connection, power (FC-1 … FC-4)."""
    from domain.premises import (
        ApproveDesign,
        DeclareReady,
        DeliverConnection,
        InstallRacks,
        MountEquipment,
        PremisesCommand,
        PremisesProjectRequest,
        PremisesStart,
        RackRequirement,
        RecordRequirements,
        RecordReservePower,
        ReservePower,
        SubmitDesign,
        premises_workflow_id,
    )
    from workflows.premises import PremisesProjectWorkflow

    project = PremisesProjectRequest(project_id="FC-HIST-1", kind="new", municipality="tranemo", site_name="Nod Limmared",
                                     address="Stationsgatan 2", property_owner="Tranemobostäder AB",
                                     site_class="network_node", document_ref="INBJ-H1")
    handle = await client.start_workflow(PremisesProjectWorkflow.run, PremisesStart(project=project, started_by="tb.pl"),
                                         id=premises_workflow_id("FC-HIST-1"), task_queue=QUEUE)
    await handle.execute_update(PremisesProjectWorkflow.ready)
    for action in (RecordRequirements(document_ref="K", racks=[RackRequirement(room="Nod", count=1)]),
                   SubmitDesign(document_ref="R", cooling_ref="KYL", fire_protection_ref="BRAND"),
                   ApproveDesign(document_ref="G"), InstallRacks(document_ref="L", count=1),
                   MountEquipment(document_ref="M"), DeliverConnection(document_ref="F"),
                   RecordReservePower(document_ref="UPS", power=ReservePower(kind="ups", hours=Decimal(4))),
                   DeclareReady(document_ref="KLAR")):
        await handle.execute_update(PremisesProjectWorkflow.apply, PremisesCommand(actor="it.anna", action=action))
    await handle.result()
    return handle


async def framework_decided(client: Client, env: WorkflowEnvironment, in_order: bool = True) -> WorkflowHandle:
    """An acute change through the whole chain to in force (GV-1, GV-2); `in_order=False` dates the steps
    backwards, as histories from before the GV-2 date checks may have them."""
    from datetime import timedelta as days_

    from domain.framework_changes import (BoardApprove, CommitteeDecide, ForumPrepare, FrameworkCommand,
                                          FrameworkParameters, FrameworkProposal, FrameworkStart, SteeringApprove,
                                          framework_workflow_id)
    from workflows.governance import FrameworkChangeWorkflow

    today = (await env.get_current_time()).date()
    proposal = FrameworkProposal(proposal_id="acute-hist-1", kind="acute", title="Ändrad lag", law_reference="SFS 1",
                                 effective_from=today + days_(10),
                                 parameters=FrameworkParameters(price_list_year=today.year))
    handle = await client.start_workflow(FrameworkChangeWorkflow.run, FrameworkStart(proposal=proposal),
                                         id=framework_workflow_id("acute-hist-1"), task_queue=QUEUE)
    await handle.execute_update(FrameworkChangeWorkflow.ready)
    step = days_(1) if in_order else -days_(1)
    first = today - days_(10) if in_order else today
    for n, action in enumerate((ForumPrepare, SteeringApprove, BoardApprove, BoardApprove, CommitteeDecide)):
        extra = {"municipality": ("tranemo", "ulricehamn")[n - 2]} if action is BoardApprove else {}
        # each body's own secretary (rule GV-2: the workflow refuses one person for two bodies, issue 20)
        await handle.execute_update(FrameworkChangeWorkflow.apply, FrameworkCommand(
            actor=f"sekreterare-{n}", person=f"E90{n}",
            action=action(decided_on=first + step * n, minutes_ref=f"P {n}", **extra)))
    await env.sleep(days_(11))
    await handle.result()
    return handle


SCENARIOS = {"framework": framework_decided, "device": device_renewal_buyout, "ticket": ticket_escalated_breached,
             "device_fidelity": device_notice_return_fidelity, "premises": premises_ready,
             "device_imported": device_imported,
             "device_early": lambda client, env: device_renewal_buyout(client, env, early=True)}


async def record(scenario: str, target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/ramflow.db"
        upgrade(url)
        sessions = make_sessionmaker(url)
        load_reference_data(sessions, 2026)
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter,
            test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"))
        await ensure_search_attributes(env.client, "default")  # issue 11: upserted on every move
        async with env, build_worker(env.client, sessions, Settings(database_url=url, temporal_task_queue=QUEUE)):
            handle = await SCENARIOS[scenario](env.client, env)
            target.write_text((await handle.fetch_history()).to_json())
        sessions.kw["bind"].dispose()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1], Path(sys.argv[2])))
