"""Premises projects through FastAPI to the time-skipping Temporal server and a real database (FC-1 … FC-4)."""
from __future__ import annotations

from sqlalchemy import select

from db.models import OutboxMessage
from db.premises_models import PremisesProject, PremisesTransition


def project(project_id: str, **extra) -> dict:
    return {"project_id": project_id, "kind": "new", "municipality": "tranemo", "site_name": "Ängaskolan",
            "address": "Skolgatan 1, Tranemo", "unit_id": "TR-KS", "property_owner": "Tranemobostäder AB",
            "site_class": "network_node", "document_ref": "INBJ-2026-14", **extra}


async def step(api, project_id: str, action: dict, actor: str = "it.anna", status: int = 200) -> dict:
    """An event recorded by IT staff `actor` (the property owner's steps too: IT records what the owner did)."""
    response = await api.post(f"/premises-projects/{project_id}/events", json={"action": action},
                              headers=api.bearer(actor, "it-staff", team="infrastruktur"))
    assert response.status_code == status, response.text
    return response.json()


REQUIREMENTS = {"event": "record_requirements", "document_ref": "KRAV-1",
                "racks": [{"room": "Teknikrum plan 1", "count": 2}]}
DESIGN = {"event": "submit_design", "document_ref": "RITN-7", "cooling_ref": "KYL-7", "fire_protection_ref": "BRAND-7"}


async def test_fc1_it_is_invited_and_records_a_fixed_connection_paid_by_the_municipality(api, sessions):
    created = await api.post("/premises-projects", json=project("FC1-A"),
                             headers=api.bearer("it.projekt", "it-staff", team="infrastruktur"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "invited" and body["log"][0]["event"] == "invite" and body["log"][0]["rule"] == "FC-1"
    assert body["log"][0]["actor"] == "it.projekt" and body["log"][0]["details"]["document_ref"] == "INBJ-2026-14"
    again = await api.post("/premises-projects", json=project("FC1-A"))
    assert again.status_code == 200 and again.json()["workflow_id"] == "premises-FC1-A"
    await step(api, "FC1-A", {"event": "attend_meeting", "document_ref": "PROT-1", "held_on": "2026-11-20"})
    state = await step(api, "FC1-A", REQUIREMENTS)
    req = state["requirements"]
    assert (req["fibre"], req["in_building_network"], req["paid_by"]) == (True, True, "tranemo")
    assert state["state"] == "requirements_recorded" and state["meetings"][0]["document_ref"] == "PROT-1"
    with sessions() as s:
        note = s.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "property-owner:FC1-A"))
        assert note is not None and "paid by tranemo" in note.body
    assert (await api.post("/premises-projects", json=project("FC1-B", unit_id="NOPE"))).status_code == 422
    assert (await api.get("/premises-projects/NOPE")).status_code == 404
    # IT drives the project; an employee may not, the auditor reads
    employee = await api.post("/premises-projects", json=project("FC1-E"), headers=api.bearer("E5001", "employee"))
    assert employee.status_code == 403
    read = await api.get("/premises-projects/FC1-A/history", headers=api.bearer("rev.eva", "auditor"))
    assert read.status_code == 200 and read.json()[0]["event"] == "invite"


async def test_fc1_address_is_ready_only_when_the_connection_is_delivered(api, sessions):
    await api.post("/premises-projects", json=project("FC1-C", site_class="other"))
    for action in (REQUIREMENTS, DESIGN, {"event": "approve_design", "document_ref": "GODK-1"},
                   {"event": "install_racks", "document_ref": "LEV-1", "count": 2},
                   {"event": "mount_equipment", "document_ref": "MONT-1"}):
        await step(api, "FC1-C", action)
    refused = await step(api, "FC1-C", {"event": "declare_ready", "document_ref": "KLAR-1"}, status=409)
    assert "FC-1" in refused["detail"] and "connection" in refused["detail"]
    await step(api, "FC1-C", {"event": "deliver_connection", "document_ref": "FIBER-LEV-9"})
    state = await step(api, "FC1-C", {"event": "declare_ready", "document_ref": "KLAR-1"})
    assert state["state"] == "ready" and state["power_requirement"] == "none"
    history = (await api.get("/premises-projects/FC1-C/history")).json()
    assert [h["event"] for h in history][-2:] == ["deliver_connection", "declare_ready"]
    assert all(h["actor"] and h["at"] and h["details"]["document_ref"] for h in history)  # who, when, document
    with sessions() as s:
        row = s.get(PremisesProject, "FC1-C")
        assert (row.state, row.connection_delivered) == ("ready", True)
        assert s.scalar(select(PremisesTransition.id).where(PremisesTransition.project_id == "FC1-C",
                                                           PremisesTransition.event == "declare_ready")) is not None
    listed = (await api.get("/premises-projects", params={"state": "ready"})).json()
    assert [p["project_id"] for p in listed] == ["FC1-C"]


async def test_fc2_owner_installs_the_racks_it_asked_for_then_it_mounts_its_equipment(api):
    await api.post("/premises-projects", json=project("FC2-A"))
    state = await step(api, "FC2-A", {**REQUIREMENTS, "racks": [{"room": "Teknikrum", "count": 2},
                                                                 {"room": "Plan 2", "count": 1}]})
    assert sum(r["count"] for r in state["requirements"]["racks"]) == 3
    await step(api, "FC2-A", DESIGN)
    await step(api, "FC2-A", {"event": "approve_design", "document_ref": "GODK-2"})
    early = await step(api, "FC2-A", {"event": "mount_equipment", "document_ref": "M"}, status=409)
    assert "not allowed in state 'design_approved'" in early["detail"]
    too_few = await step(api, "FC2-A", {"event": "install_racks", "document_ref": "LEV", "count": 2},
                         actor="it.bo", status=409)
    assert "FC-2" in too_few["detail"] and "3 racks" in too_few["detail"]
    state = await step(api, "FC2-A", {"event": "install_racks", "document_ref": "LEV-3", "count": 3},
                       actor="it.bo")
    assert state["state"] == "racks_installed" and state["racks_installed"] == 3
    state = await step(api, "FC2-A", {"event": "mount_equipment", "document_ref": "MONT-3"}, actor="it.tech")
    last = state["log"][-1]
    assert (state["state"], last["actor"], last["rule"], last["details"]["document_ref"]) == (
        "equipment_mounted", "it.tech", "FC-2", "MONT-3")


async def test_fc3_reserve_power_follows_the_site_class(api):
    # only Kommunhuset in Tranemo and Stadshuset in Ulricehamn are crisis command posts
    wrong = await api.post("/premises-projects", json=project("FC3-X", site_class="crisis_command_post"))
    assert wrong.status_code == 422 and "FC-3" in wrong.text
    unclassed = await api.post("/premises-projects", json=project("FC3-Y", site_name="Kommunhuset", site_class="other"))
    assert unclassed.status_code == 422 and "FC-3" in unclassed.text
    post = await api.post("/premises-projects", json=project(
        "FC3-KH", municipality="ulricehamn", site_name="Stadshuset", unit_id="UL-KS", site_class="crisis_command_post"))
    assert post.json()["power_requirement"] == "local_reserve_power"
    operation = await api.post("/premises-projects", json=project("FC3-OP", site_class="operation_site"))
    assert operation.json()["power_requirement"] == "diesel_automatic_takeover"
    for action in (REQUIREMENTS, DESIGN, {"event": "approve_design", "document_ref": "G"},
                   {"event": "install_racks", "document_ref": "L", "count": 2},
                   {"event": "mount_equipment", "document_ref": "M"},
                   {"event": "deliver_connection", "document_ref": "F"}):
        await step(api, "FC3-OP", action)
    manual = await step(api, "FC3-OP", {"event": "record_reserve_power", "document_ref": "PROV-1",
                                        "power": {"kind": "diesel", "hours": "24", "automatic_takeover": False}})
    assert manual["power_requirement_met"] is False and manual["log"][-1]["details"]["met"] == "false"
    refused = await step(api, "FC3-OP", {"event": "declare_ready", "document_ref": "K"}, status=409)
    assert "FC-3" in refused["detail"] and "diesel_automatic_takeover" in refused["detail"]
    await step(api, "FC3-OP", {"event": "record_reserve_power", "document_ref": "PROV-2",
                               "power": {"kind": "diesel", "hours": "24", "automatic_takeover": True}})
    assert (await step(api, "FC3-OP", {"event": "declare_ready", "document_ref": "K"}))["state"] == "ready"


async def test_fc3_network_node_needs_four_hours_of_reserve_power(api):
    await api.post("/premises-projects", json=project("FC3-NN"))
    await step(api, "FC3-NN", REQUIREMENTS)
    short = await step(api, "FC3-NN", {"event": "record_reserve_power", "document_ref": "UPS-1",
                                       "power": {"kind": "ups", "hours": "2"}})
    assert short["power_requirement"] == "four_hours" and short["power_requirement_met"] is False
    enough = await step(api, "FC3-NN", {"event": "record_reserve_power", "document_ref": "UPS-2",
                                        "power": {"kind": "ups", "hours": "4"}})
    assert enough["power_requirement_met"] is True


async def test_fc4_it_approves_cooling_and_fire_protection_before_installation(api, sessions):
    await api.post("/premises-projects", json=project("FC4-A"))
    await step(api, "FC4-A", REQUIREMENTS)
    early = await step(api, "FC4-A", {"event": "install_racks", "document_ref": "L", "count": 2}, status=409)
    assert "install_racks" in early["detail"] and "design_approved" in early["detail"]
    await step(api, "FC4-A", DESIGN, actor="it.bo")
    refused = await step(api, "FC4-A", {"event": "install_racks", "document_ref": "L", "count": 2}, status=409)
    assert "design_submitted" in refused["detail"]
    rejected = await step(api, "FC4-A", {"event": "reject_design", "document_ref": "YTT-1",
                                         "reason": "kylning räcker inte för två rack"})
    assert rejected["state"] == "requirements_recorded" and rejected["log"][-1]["rule"] == "FC-4"
    await step(api, "FC4-A", {**DESIGN, "document_ref": "RITN-8", "cooling_ref": "KYL-8"}, actor="it.bo")
    approved = await step(api, "FC4-A", {"event": "approve_design", "document_ref": "GODK-8"}, actor="it.infra")
    assert approved["design_approved_by"] == "it.infra" and approved["design"]["cooling_ref"] == "KYL-8"
    assert approved["allowed_events"][:1] == ["attend_meeting"] and "install_racks" in approved["allowed_events"]
    with sessions() as s:
        owner_notes = s.scalars(select(OutboxMessage.subject).where(
            OutboxMessage.recipient == "property-owner:FC4-A")).all()
        assert any("design approved" in n for n in owner_notes) and any("rejected" in n for n in owner_notes)
