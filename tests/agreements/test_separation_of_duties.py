"""Issue 20, medium 2: separation of duties holds under concurrency. One person never approves an agreement for
both parties (AG-4) nor records two bodies' decisions on one framework proposal (GV-2): the workflow refuses it
under its lock, so two concurrent requests — through the API or straight to the workflow — cannot both pass."""
from __future__ import annotations

import asyncio

from temporalio.client import WorkflowUpdateFailedError

from domain.agreements import AgreementCommand, AgreementStart, Approve, agreement_workflow_id
from domain.framework_changes import (BoardApprove, ForumPrepare, FrameworkCommand, FrameworkStart, SteeringApprove,
                                      framework_workflow_id)
from tests.agreements.helpers import content
from tests.governance.test_governance_workflows import acute_proposal, decide
from tests.helpers import local_now, start
from workflows.agreements import AgreementWorkflow
from workflows.governance import FrameworkChangeWorkflow


def outcome(results: list) -> tuple[int, list[str]]:
    """(how many succeeded, why the others were refused)."""
    refused = [str(r.cause) for r in results if isinstance(r, WorkflowUpdateFailedError)]
    others = [r for r in results if isinstance(r, BaseException) and not isinstance(r, WorkflowUpdateFailedError)]
    assert others == []
    return len(results) - len(refused), refused


async def proposed_agreement(client, worker, agreement_id: str, owner: str = "E1003"):
    handle = await start(client, AgreementWorkflow.run,
                         AgreementStart(agreement_id=agreement_id, content=content(agreement_id, owner=owner)),
                         agreement_workflow_id(agreement_id), worker.task_queue)
    assert (await handle.execute_update(AgreementWorkflow.ready)).state == "proposed"
    return handle


def approve(handle, party: str, actor: str, person: str | None = None):
    command = AgreementCommand(actor=actor, person=person, action=Approve(party=party))
    return handle.execute_update(AgreementWorkflow.apply, command)


async def test_ag4_the_workflow_refuses_one_person_approving_both_parties_concurrently(client, worker):
    for attempt in range(3):
        handle = await proposed_agreement(client, worker, f"APP-SOD-{attempt}")
        results = await asyncio.gather(approve(handle, "it", "E1003", "E1003"),
                                       approve(handle, "system_owner", "E1003", "E1003"), return_exceptions=True)
        succeeded, refused = outcome(results)
        assert succeeded == 1 and len(refused) == 1 and "both parties" in refused[0] and "AG-4" in refused[0]
        view = await handle.query(AgreementWorkflow.view)
        assert view.state == "proposed" and len(view.approvals) == 1


async def test_ag4_the_same_person_under_two_subjects_is_one_person(client, worker):
    """Two logins (token subjects) of one employee number approve as one person: refused."""
    handle = await proposed_agreement(client, worker, "APP-SOD-P")
    assert (await approve(handle, "system_owner", "9f0c-guid-a", "E1003")).approvals[0].person == "E1003"
    results = await asyncio.gather(approve(handle, "it", "71ab-guid-b", "E1003"), return_exceptions=True)
    succeeded, refused = outcome(results)
    assert succeeded == 0 and "both parties" in refused[0]
    # another person approves for IT: the agreement is approved
    assert (await approve(handle, "it", "it.anna", "E9001")).state == "approved"


async def test_gv2_the_workflow_refuses_one_secretary_recording_both_boards_concurrently(client, worker, env):
    today = (await local_now(env)).date()
    for attempt in range(2):
        proposal_id = f"acute-sod-{attempt}"
        handle = await start(client, FrameworkChangeWorkflow.run, FrameworkStart(proposal=acute_proposal(
            proposal_id, today)), framework_workflow_id(proposal_id), worker.task_queue,
            ready=FrameworkChangeWorkflow.ready)
        await decide(handle, ForumPrepare(decided_on=today, minutes_ref="IFU"))
        await decide(handle, SteeringApprove(decided_on=today, minutes_ref="ISG"))
        both = [FrameworkCommand(actor="sek.dubbel", action=BoardApprove(municipality=m, decided_on=today,
                                                                         minutes_ref=f"KS {m}"))
                for m in ("tranemo", "ulricehamn")]
        results = await asyncio.gather(*(handle.execute_update(FrameworkChangeWorkflow.apply, c) for c in both),
                                       return_exceptions=True)
        succeeded, refused = outcome(results)
        assert succeeded == 1 and "two bodies" in refused[0] and "GV-2" in refused[0]
        view = await handle.query(FrameworkChangeWorkflow.view)
        assert view.state == "at_boards" and len(view.board_approvals) == 1


# --- through the API ---------------------------------------------------------------------------------
async def test_ag4_concurrent_requests_through_the_api_approve_one_party_only(api, bearer):
    both = bearer("E1003", "it-admin", "system-owner")  # the owner is also an IT admin
    for attempt in range(3):
        agreement_id = f"APP-SOD-API-{attempt}"
        created = await api.post("/agreements", json=content(agreement_id, owner="E1003").model_dump(mode="json"))
        assert created.status_code == 201, created.text
        events = f"/agreements/{agreement_id}/drawing-up/events"
        answers = await asyncio.gather(*(api.post(events, headers=both, json={"action": {"event": "approve",
                                                                                          "party": party}})
                                         for party in ("system_owner", "it")))
        assert sorted(a.status_code for a in answers) in ([200, 403], [200, 409]), [a.text for a in answers]
        view = (await api.get(f"/agreements/{agreement_id}/drawing-up")).json()
        assert view["state"] == "proposed" and len(view["approvals"]) == 1


async def test_gv2_concurrent_requests_through_the_api_record_one_board_only(api, bearer, env):
    today = str((await local_now(env)).date())
    two_boards = bearer("sek.ks", "kommunstyrelsen-tranemo", "kommunstyrelsen-ulricehamn")

    def decision(event: str, **extra) -> dict:
        return {"action": {"event": event, "decided_on": today, "minutes_ref": "prot", **extra}}

    for attempt in range(2):
        proposal_id = f"acute-sod-api-{attempt}"
        created = await api.post("/framework/proposals", json={
            "kind": "acute", "proposal_id": proposal_id, "title": "Ändrade supporttider",
            "law_reference": "SFS 2026:9", "effective_from": today})
        assert created.status_code == 201, created.text
        events = f"/framework/proposals/{proposal_id}/events"
        assert (await api.post(events, json=decision("forum_prepare"),
                               headers=bearer("sek.ifu", "it-forum-utveckling"))).status_code == 200
        assert (await api.post(events, json=decision("steering_approve"),
                               headers=bearer("sek.isg", "it-styrgrupp"))).status_code == 200
        answers = await asyncio.gather(*(api.post(events, headers=two_boards,
                                                  json=decision("board_approve", municipality=m))
                                         for m in ("tranemo", "ulricehamn")))
        assert sorted(a.status_code for a in answers) in ([200, 403], [200, 409]), [a.text for a in answers]
        view = (await api.get(f"/framework/proposals/{proposal_id}")).json()
        assert view["state"] == "at_boards" and len(view["board_approvals"]) == 1
