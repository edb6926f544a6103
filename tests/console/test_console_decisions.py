"""The decision inbox (issue 23): a system owner decides only their own agreements (rule AG-4), and the chain
shows each body's decision date and minutes reference and what a proposal changes (rule GV-2), in Swedish."""
from __future__ import annotations

from fastapi import FastAPI

from api.auth import Principal
from console import i18n
from console.pages.decisions import decision_events, proposal_changes
from console.ui import Ui

OWNER = Principal(subject="owner.sara", roles=frozenset({"system-owner"}), employee_ref="E3001")
AGREEMENT = {"allowed_events": ["approve", "reject"], "content": {"system_owner_ref": "E3001"}}
PROPOSAL = {"proposal_id": "yearly-2027", "title": "Årlig revision 2027", "summary": "Nya timpriser",
            "effective_from": "2027-01-01", "law_reference": None, "prices": [{"item": "a"}, {"item": "b"}],
            "parameters": {"price_list_year": 2027, "support_hours": []}}
FRAMEWORK = {"state": "at_boards", "proposal": PROPOSAL, "allowed_events": [], "log": [], "decisions": [
    {"body": "it-styrgrupp", "municipality": None, "decision": "approved", "decided_on": "2026-10-05",
     "minutes_ref": "ITSG 2026-10-05 § 12"},
    {"body": "kommunstyrelsen tranemo", "municipality": "tranemo", "decision": "approved",
     "decided_on": "2026-11-02", "minutes_ref": "KS 2026-11-02 § 123"}]}


def test_ag4_a_system_owners_inbox_holds_only_their_own_agreements():
    assert [e["party"] for e in decision_events("agreement", AGREEMENT, OWNER)] == ["system_owner", "system_owner"]
    others = {**AGREEMENT, "content": {"system_owner_ref": "E3999"}}
    assert decision_events("agreement", others, OWNER) == []
    nobody = Principal(subject="owner.x", roles=frozenset({"system-owner"}))  # no employee number: nothing
    assert decision_events("agreement", AGREEMENT, nobody) == []


def test_gv2_the_chain_shows_each_bodys_date_minutes_and_what_the_proposal_changes():
    changes = dict(proposal_changes(FRAMEWORK))
    assert changes["summary"] == "Nya timpriser" and changes["prices"] == "2"
    assert changes["parameters.price_list_year"] == "2027" and "law_reference" not in changes
    ui = Ui(FastAPI(), FastAPI(), None)  # type: ignore[arg-type]
    page = ui.templates.get_template("inbox.html").render(
        t=i18n.words("sv"), lang="sv", session=None, principal=None, flash=[], csrf="", nav=[], path="/console/inbox",
        today="2026-12-08", labels={}, items=[{"row": {"process": "framework_change", "subject": "yearly-2027",
                                                       "workflow_id": "framework-yearly-2027"},
                                               "view": FRAMEWORK, "events": [], "post": "/x", "changes": changes.items()}])
    assert "Vad förslaget ändrar" in page and "Nya timpriser" in page and "1 jan 2027" in page
    assert "KS 2026-11-02 § 123" in page and "2 nov 2026" in page and "5 okt 2026" in page
    assert "godkänt (approved)" in page and "Beslut i varje organ" in page
