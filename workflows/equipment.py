"""One long-running workflow per device, from order to certified erasure (rules EQ-1 … EQ-14)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.base import ProcessWorkflow, Step, command_update, ready_update, run_activity

with workflow.unsafe.imports_passed_through():
    from domain.catalogue import OrderTerms, rules_of
    from domain.common import SYSTEM_ACTOR
    from domain.device_register import CostBearerChange, DeviceView, RegisterMirror, RegisterOrderInput
    from domain.equipment import (
        CHARGED_STATES,
        EQUIPMENT,
        ORDERED,
        BuyoutCompletion,
        CallOffRequest,
        Deliver,
        DeviceCommand,
        DeviceOrder,
        DeviceProcess,
        DeviceSnapshot,
        DeviceStart,
        ErasureRequest,
        MdmRequest,
        device_workflow_id,
    )
    from domain.process import TransitionRecord, person_of
    from domain.renewals import (
        REARMABLE_STATES,
        RenewalPeriodChange,
        ReplacementDelivered,
        ReplacementModelRequest,
        renewal_order_number,
    )

# The activities this process calls (implemented in activities/; `local`: Ramflow's own database only).
REGISTER_ORDER = Step("equipment.register_order", local=True)
CALL_OFF = Step("equipment.call_off")
MIRROR_DEVICE = Step("equipment.mirror_transition", local=True)
CHANGE_COST_BEARER = Step("equipment.change_cost_bearer", local=True)
ENROL_MDM = Step("equipment.enrol_mdm")
ORDER_ERASURE = Step("equipment.order_erasure")
RECORD_ERASURE_CERTIFICATE = Step("equipment.record_erasure_certificate")
COMPLETE_BUYOUT = Step("equipment.complete_buyout")
REPLACEMENT_MODEL = Step("equipment.replacement_model", local=True)
# Issue 22: a device delivered before Ramflow starts mid-life (a new start input; a marker in its histories)
DEVICE_IMPORT = "eq1-device-import-mid-life-start"


@workflow.defn(name="DeviceLifecycle")
class DeviceLifecycleWorkflow(ProcessWorkflow):
    definition = EQUIPMENT
    timer_reasons = {
        "renewal_due": "renewal period reached (less the lead time)",
        "end_rental": "rental term ended",
        "buyout_expired": "buyout offer not answered by its deadline",
    }

    @workflow.init
    def __init__(self, start: DeviceStart) -> None:
        order = start.order
        self._setup(start, lambda: DeviceSnapshot(
            order=order, unit_id=order.unit_id, user_ref=order.user_ref, location=order.location
        ), DeviceProcess)

    # --- main loop: durable timers ------------------------------------------------------------
    @workflow.run
    async def run(self, start: DeviceStart) -> DeviceView:
        if self.snap.terms is None:
            async with self.lock:
                if self.start.imported is not None:
                    await self._register_imported()
                else:
                    await self._register()
        self.is_registered = True  # registered and called off, register row written
        await self._loop(lambda: self.start.model_copy(update={"snapshot": self.snap}))
        return self.view()

    def _next_timer(self) -> tuple[str, datetime] | None:
        """The timer the current state waits for, recomputed from the snapshot on every loop."""
        snap = self.snap
        lead = timedelta(days=self.start.renewal_lead_days)
        state = snap.state
        if state == "in_use":
            if snap.terms is not None and snap.terms.category.value == "short_term_laptop":
                end = snap.rental_end_at()
                return ("end_rental", end) if end else None
            due = snap.renewal_due_at(lead)
            return ("renewal_due", due) if due else None  # rule EQ-5
        if state in ("notice_given", "returned_under_notice"):
            end = snap.rental_end_at()
            return ("end_rental", end) if end else None  # rule EQ-8
        if state == "buyout_offered" and snap.buyout is not None:
            return ("buyout_expired", snap.buyout.deadline)  # rule EQ-11
        return None

    # --- API: updates, signals, queries -------------------------------------------------------
    apply = command_update(DeviceCommand, DeviceView)
    registered = ready_update(DeviceView, "registered")  # registered and called off

    def _on_command(self, command: DeviceCommand) -> None:
        # Added after devices were running: histories from before it replay without the check.
        if workflow.patched("eq11-employee-answers-buyout"):
            self._check_answerer(command)
        # rules EQ-8 (return under notice keeps charging), EQ-11 (buyout only once the rental ended) and
        # EQ-12 (certificate from the vendor sent to): histories from before them replay the old moves
        self.process.rule_fidelity = workflow.patched("rule-fidelity-eq8-eq11-eq12")

    def _validate(self, command: DeviceCommand) -> None:
        self._check(command)
        self._check_answerer(command)

    def _ready(self) -> bool:
        return self.is_registered

    def _check_answerer(self, command: DeviceCommand) -> None:
        buyout = self.snap.buyout
        # the system declines for a buyer who left (issue 22); no token may claim its subject
        lapses = command.action.event == "decline_buyout" and command.actor == SYSTEM_ACTOR
        if command.action.event in ("accept_buyout", "decline_buyout") and buyout \
                and person_of(command) != buyout.buyer_ref and not lapses:
            # rule EQ-11: the employee answers the offer themself (IT sets the price, the employee decides), by
            # employee number (issue 20: the actor is a token subject; commands without `person` compare it)
            raise ApplicationError(f"actor: only employee {buyout.buyer_ref} may answer this buyout offer (rule EQ-11)",
                                   type="Forbidden", non_retryable=True)

    @workflow.update
    async def change_renewal_period(self, change: RenewalPeriodChange) -> DeviceView:
        """Rule EQ-5: a new price-list year may change the period; the timer is re-armed."""
        async with self.lock:
            before = self.snap.renewal_months
            if before == change.renewal_months and workflow.patched("eq5-unchanged-period-is-a-no-op"):
                return self.view()  # a repeated or fleet-wide change: nothing to record, no timer to re-arm
            self.snap.renewal_months = change.renewal_months
            await self._record(
                "change_renewal_period", self.snap.state, change.actor, change.reason, "EQ-5",
                {"renewal_months": f"{before} -> {change.renewal_months}"},
            )
            self.rearm = True
        return self.view()

    @change_renewal_period.validator
    def _validate_renewal(self, change: RenewalPeriodChange) -> None:
        if self.snap.state not in REARMABLE_STATES:
            raise ApplicationError(
                f"renewal period cannot change in state {self.snap.state!r} (rule EQ-5)",
                type="IllegalTransition", non_retryable=True,
            )
        if self.snap.terms is not None and self.snap.terms.category.value == "short_term_laptop":
            raise ApplicationError("short-term laptops have no renewal period (rule EQ-4)",
                                   type="IllegalTransition", non_retryable=True)

    @workflow.signal
    async def replacement_delivered(self, news: ReplacementDelivered) -> None:
        """Rule EQ-5: the replacement is delivered, so the old device is returned to IT."""
        async with self.lock:
            if self.process.refusal("replacement_delivered") is None:
                await self._fire("replacement_delivered", SYSTEM_ACTOR,
                                 f"replacement {news.order_number} delivered", details={"replaced_by": news.order_number})

    @workflow.query
    def snapshot(self) -> DeviceSnapshot:
        """The state carried across continue-as-new (also what an audit export needs)."""
        return self.snap

    @workflow.query
    def view(self) -> DeviceView:
        snap = self.snap
        lead = timedelta(days=self.start.renewal_lead_days)
        return DeviceView(
            order_number=snap.order.order_number, workflow_id=workflow.info().workflow_id, state=snap.state,
            category=snap.terms.category if snap.terms else None, model_code=snap.order.model_code,
            unit_id=snap.unit_id, cost_bearer_unit_id=self.process.cost_bearer(), user_ref=snap.user_ref,
            location=snap.location, serial_number=snap.serial_number, delivered_at=snap.delivered_at,
            renewal_months=snap.renewal_months,
            renewal_due_at=snap.renewal_due_at(lead) if snap.state == "in_use" else None,
            rental_end_at=snap.rental_end_at(), rental_weeks=snap.order.rental_weeks, replaces=snap.order.replaces,
            replacement_order=snap.replacement_order, buyout=snap.buyout, erasure_vendor=snap.erasure_vendor,
            erasure_certificate=snap.erasure_certificate, police_report_ref=snap.police_report_ref,
            mdm_profile=snap.mdm_profile, mdm_enrolled_at=snap.mdm_enrolled_at,
            allowed_events=self.process.allowed_events() if snap.terms else [], log=snap.log,
        )

    # --- transitions and their side effects -------------------------------------------------------
    async def _register(self) -> None:
        wf_id = workflow.info().workflow_id
        order = self.snap.order
        self.snap.terms = await run_activity(
            REGISTER_ORDER,
            RegisterOrderInput(workflow_id=wf_id, order=order, ordered_at=workflow.now()),
            OrderTerms,
        )
        self.snap.renewal_months = self.snap.terms.renewal_months
        await self._record("order", "ordered", self.start.ordered_by, None, "EQ-1",
                           {"model_code": order.model_code, "agreement_ref": self.snap.terms.agreement_ref})
        await self._fire("call_off", SYSTEM_ACTOR, f"call-off under agreement {self.snap.terms.agreement_ref}")

    async def _register_imported(self) -> None:
        """Issue 22: a device delivered before Ramflow starts mid-life, ordered → called off → delivered → in
        use with its true delivery date, each move recorded as an import by its actor (rule EQ-1). No call-off,
        MDM enrolment or delivery notice again (the old system did them); charges from max(delivery, cut-over)
        (rules EQ-6, BL-6), the renewal timer from the delivery date and the policy in force (EQ-5)."""
        workflow.patched(DEVICE_IMPORT)  # only imported devices take this path: a marker for their histories
        imported, order, snap = self.start.imported, self.snap.order, self.snap
        assert imported is not None
        snap.terms = await run_activity(REGISTER_ORDER, RegisterOrderInput(
            workflow_id=workflow.info().workflow_id, order=order, ordered_at=workflow.now()), OrderTerms)
        snap.renewal_months, snap.renewal_not_before = snap.terms.renewal_months, imported.renewal_not_before
        actor, reason = self.start.ordered_by, f"import from {imported.source}"
        await self._record("order", ORDERED, actor, reason, "EQ-1", {
            "model_code": order.model_code, "agreement_ref": snap.terms.agreement_ref, "import_id": imported.import_id})
        deliver = DeviceCommand(actor=actor, reason=reason, action=Deliver(serial_number=imported.serial_number))
        for trigger, command in (("call_off", None), ("deliver", deliver), ("activate", None)):
            previous = snap.state
            details = self.process.apply(trigger, command, workflow.now(), {})
            if trigger == "deliver":  # its true delivery date, not the day of the import
                snap.delivered_at = imported.delivered_at
                details["delivered_at"] = imported.delivered_at.date().isoformat()
            await self._record(trigger, previous, actor, reason, "EQ-1", details)
        await run_activity(CHANGE_COST_BEARER, CostBearerChange(
            key=self._key("cost_bearer"), order_number=order.order_number, unit_id=self.process.cost_bearer(),
            on=imported.charges_from, delivery=imported.charges_from <= imported.delivered_at.date()))

    async def _mirror(self, record: TransitionRecord) -> None:
        snap = self.snap
        await run_activity(MIRROR_DEVICE, RegisterMirror(
            order_number=snap.order.order_number, record=record, unit_id=snap.unit_id,
            cost_bearer_unit_id=self.process.cost_bearer(), user_ref=snap.user_ref, location=snap.location,
            serial_number=snap.serial_number, delivered_at=snap.delivered_at, renewal_months=snap.renewal_months,
            replaced_by=snap.replacement_order,
        ))

    async def _before(self, trigger: str, command: Any) -> dict[str, Any]:
        snap, now, action = self.snap, workflow.now(), getattr(command, "action", None)
        number = snap.order.order_number
        if trigger == "send_to_erasure":  # rule EQ-12
            await run_activity(ORDER_ERASURE, ErasureRequest(order_number=number, vendor=action.vendor, at=now))
        elif trigger == "record_erasure":  # rule EQ-12
            await run_activity(RECORD_ERASURE_CERTIFICATE, ErasureRequest(
                order_number=number, vendor=action.vendor, certificate_id=action.certificate_id, at=now))
        elif trigger == "call_off":  # rule EQ-2
            assert snap.terms is not None
            await run_activity(CALL_OFF, CallOffRequest(
                order_number=number, agreement_ref=snap.terms.agreement_ref, model_code=snap.order.model_code, at=now))
        elif trigger == "complete_buyout":  # rule EQ-11
            assert snap.buyout is not None and snap.terms is not None
            await run_activity(COMPLETE_BUYOUT, BuyoutCompletion(
                order_number=number, employee_ref=snap.buyout.buyer_ref, amount=snap.buyout.price,
                original_os=snap.terms.original_os or "original OS", at=now))
        return {"buyout_answer_days": self.start.buyout_answer_days}

    async def _after(self, previous: str, trigger: str, current: str) -> None:
        """The dispatcher over (previous, next): charging, MDM, renewal, notifications."""
        snap, now = self.snap, workflow.now()
        assert snap.terms is not None
        number = snap.order.order_number
        cost_bearer = self.process.cost_bearer()
        if trigger == "reassign" or (previous in CHARGED_STATES) != (current in CHARGED_STATES):
            # rules EQ-6/EQ-7/EQ-8: charging follows the active cost bearer, day by day
            await run_activity(CHANGE_COST_BEARER, CostBearerChange(
                key=self._key("cost_bearer"), order_number=number, unit_id=cost_bearer, on=now.date(),
                delivery=trigger == "activate", rental_weeks=snap.order.rental_weeks))
        if trigger == "deliver":
            enrolled: dict[str, str] = {}
            if rules_of(snap.terms.category).mdm:  # rule EQ-13
                await run_activity(ENROL_MDM, MdmRequest(
                    order_number=number, serial_number=snap.serial_number or "", category=snap.terms.category, at=now))
                snap.mdm_profile, snap.mdm_enrolled_at = f"standard-{snap.terms.category.value}", now
                enrolled = {"mdm_profile": snap.mdm_profile}  # rule EQ-13: visible in the audit log
            await self._fire("activate", SYSTEM_ACTOR, "registered in the inventory register and handed out",
                             details=enrolled)
        elif trigger == "activate":
            await self._notify("delivered", f"unit:{snap.unit_id}", f"{number} delivered",
                               f"{snap.terms.model_name} is delivered and charged to unit {snap.unit_id}.",
                               {"order_number": number, "model_name": snap.terms.model_name, "unit_id": snap.unit_id})
            if snap.order.replaces:  # rule EQ-5: the old device goes back to IT
                await self._tell_replaced(snap.order.replaces)
        elif trigger == "give_notice":  # rule EQ-8
            await self._notify("notice", "it:asset-management", f"{number}: notice given",
                               f"Unit {snap.unit_id} gave notice; find a new unit. The cost stays with "
                               f"{snap.unit_id} until reassignment or the rental term ends.",
                               {"order_number": number, "unit_id": snap.unit_id})
        elif trigger in ("renewal_due", "renew_now"):  # rule EQ-5
            await self._order_replacement()
        elif trigger == "offer_buyout" and snap.buyout is not None:  # rule EQ-11
            await self._notify("buyout_offer", f"employee:{snap.buyout.buyer_ref}", f"Buy out {number}?",
                               f"Offered as is, without warranty or support, for SEK {snap.buyout.price}, paid by "
                               f"net salary deduction. Answer by {snap.buyout.deadline.date().isoformat()}.",
                               {"order_number": number, "model_name": snap.terms.model_name if snap.terms else "",
                                "price": str(snap.buyout.price), "deadline": snap.buyout.deadline.isoformat()})
        elif trigger == "record_erasure" and self.process.has_buyer():
            await self._fire("complete_buyout", SYSTEM_ACTOR, "erased, original OS reinstalled, salary deduction")
        elif trigger in ("report_stolen", "report_damaged"):  # rule EQ-9
            await self._notify("incident", f"unit:{snap.unit_id}", f"{number}: {trigger.removeprefix('report_')}",
                               "File a police report and send its reference to IT; then IT and the unit settle.")

    async def _order_replacement(self) -> None:
        """Rule EQ-5: the replacement's order starts automatically as a child workflow that outlives this one."""
        snap = self.snap
        assert snap.terms is not None
        try:
            model_code = await run_activity(REPLACEMENT_MODEL, ReplacementModelRequest(
                category=snap.terms.category, municipality=snap.terms.municipality, on=workflow.now().date(),
                replaces_model=snap.order.model_code, chosen_model=snap.replacement_model_choice), str)
        except ApplicationError:
            await self._notify("renewal_blocked", "it:asset-management", f"{snap.order.order_number}: no model",
                               f"No active {snap.terms.category.value} model of the same kind with a price; "
                               f"order the replacement by hand.")
            return
        number = renewal_order_number(snap.order.order_number)
        order = DeviceOrder(order_number=number, model_code=model_code, unit_id=snap.unit_id,
                            user_ref=snap.user_ref, location=snap.location, replaces=snap.order.order_number)
        await workflow.start_child_workflow(
            DeviceLifecycleWorkflow.run,
            DeviceStart(order=order, renewal_lead_days=self.start.renewal_lead_days,
                        buyout_answer_days=self.start.buyout_answer_days, ordered_by=SYSTEM_ACTOR),
            id=device_workflow_id(number),
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        snap.replacement_order = number
        await self._notify("renewal", f"unit:{snap.unit_id}", f"{snap.order.order_number} is due for renewal",
                           f"Replacement {number} ({model_code}) is ordered; the old device is returned on delivery.",
                           {"order_number": snap.order.order_number, "replacement": number, "model_code": model_code})

    async def _tell_replaced(self, old_order: str) -> None:
        handle = workflow.get_external_workflow_handle(device_workflow_id(old_order))
        try:
            await handle.signal(DeviceLifecycleWorkflow.replacement_delivered,
                                ReplacementDelivered(order_number=self.snap.order.order_number))
        except ApplicationError:
            workflow.logger.warning("replaced device %s has no running workflow", old_order)
