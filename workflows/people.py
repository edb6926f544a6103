"""The leaver process (issue 22; rules EQ-7, EQ-11): started by the SCIM endpoint when the directory deactivates
or deletes a person, one per person (`leaver-<employee_ref>`), one activity per step, so a crash resumes where
it stopped. Joiners start nothing (a device is still ordered, EQ-1); movers wait for the old unit's manager
(api/routes/people_moves.py)."""
from __future__ import annotations

from temporalio import workflow

from workflows import notifications
from workflows.steps import Step, run_activity

with workflow.unsafe.imports_passed_through():
    from domain.people import LeaverOutcome, LeaverStart

# Ordinary activities, each a visible step of the process's history (a leaver is rare: no need to save round trips)
FLAG_DEVICES = Step("people.flag_devices_for_return")
LAPSE_BUYOUT_OFFERS = Step("people.lapse_buyout_offers")  # talks to the devices' workflows
OPEN_TICKETS = Step("people.open_tickets")


@workflow.defn(name="PersonLeaver")
class PersonLeaverWorkflow:
    @workflow.run
    async def run(self, start: LeaverStart) -> LeaverOutcome:
        outcome = LeaverOutcome()
        # rule EQ-7: the unit keeps the register current at staff turnover; its devices go back to it
        outcome.flagged_devices = await run_activity(FLAG_DEVICES, start, list[str])
        # rule EQ-11: an offer to someone who left can no longer be accepted (salary deduction ends)
        outcome.lapsed_offers = await run_activity(LAPSE_BUYOUT_OFFERS, start, list[str])
        # their open tickets stay with the unit they were reported for: nothing moves, the manager is told
        outcome.open_tickets = await run_activity(OPEN_TICKETS, start, list[str])
        if start.unit_id is not None:
            await notifications.notify(f"{workflow.info().workflow_id}:manager", "leaver", f"unit:{start.unit_id}",
                                       f"{start.employee_ref} har slutat", _message(start, outcome))
            outcome.manager_told = True
        return outcome


def _message(start: LeaverStart, outcome: LeaverOutcome) -> str:
    """The unit manager's message (Swedish, like everything a person sees)."""
    lines = [f"{start.employee_ref} är inaktiverad i katalogen ({start.at.date().isoformat()})."]
    if outcome.flagged_devices:
        lines.append("Utrustning att lämna tillbaka till enheten (EQ-7): " + ", ".join(outcome.flagged_devices)
                     + ". Registrera återlämning eller omplacering hos IT.")
    if outcome.lapsed_offers:
        lines.append("Erbjudanden om utköp som har förfallit (EQ-11): " + ", ".join(outcome.lapsed_offers) + ".")
    if outcome.open_tickets:
        lines.append("Öppna ärenden som ligger kvar hos enheten: " + ", ".join(outcome.open_tickets) + ".")
    return "\n".join(lines)
