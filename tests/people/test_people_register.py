"""The people register: IT admins keep who a person is (name, mail address, language, token subject);
every change is a recorded reference change; it is personal data, so only IT and auditors read it."""
from __future__ import annotations

PERSON = {"name": "Eva Ek", "email": "eva.ek@tranemo.se", "subject": "6f1c2d4e-0000-4000-8000-000000005001",
          "language": "sv", "unit_id": "TR-KS"}


async def test_person_is_stored_shown_and_its_change_recorded(api, bearer):
    created = await api.put("/people/E5001", json=PERSON)
    assert created.status_code == 200, created.text
    shown = (await api.get("/people/E5001")).json()
    assert {k: shown[k] for k in PERSON} == PERSON and shown["active"] is True and shown["employee_ref"] == "E5001"
    assert [p["employee_ref"] for p in (await api.get("/people", params={"unit_id": "TR-KS"})).json()] == ["E5001"]
    again = await api.put("/people/E5001", json=PERSON)  # the same body again changes nothing
    assert again.json()["updated_at"] == created.json()["updated_at"]
    await api.put("/people/E5001", json={**PERSON, "email": "eva@tranemo.se"})
    changes = (await api.get("/reference-changes", headers=bearer("rev.eva", "auditor"))).json()
    mine = [c for c in changes if c["entity"] == "person"]
    assert len(mine) == 2 and mine[0]["before"]["email"] == "eva.ek@tranemo.se"
    assert mine[0]["after"]["email"] == "eva@tranemo.se" and mine[0]["actor"] == "it.anna"


async def test_person_register_refuses_bad_input_naming_the_field(api):
    for body, field in (({**PERSON, "email": "not-an-address"}, "email"), ({**PERSON, "language": "de"}, "language"),
                        ({**PERSON, "nickname": "E"}, "nickname"), ({**PERSON, "unit_id": "XX-NONE"}, "unit_id")):
        answer = await api.put("/people/E5001", json=body)
        assert answer.status_code == 422 and field in answer.text, (body, answer.text)
    assert (await api.get("/people/E5001")).status_code == 404  # nothing half-written


async def test_one_token_subject_is_one_person(api):
    assert (await api.put("/people/E5001", json=PERSON)).status_code == 200
    other = await api.put("/people/E5002", json={**PERSON, "name": "Bo Ek"})
    assert other.status_code == 409 and "subject" in other.text


async def test_people_are_personal_data_read_by_it_and_auditors_only(api, bearer):
    assert (await api.put("/people/E5001", json=PERSON)).status_code == 200
    assert (await api.get("/people/E5001", headers=bearer("rev.eva", "auditor"))).status_code == 200
    for caller in (bearer("E5001", "employee"), bearer("E1001", "unit-manager", unit="TR-KS"),
                   bearer("ek.eva", "economy")):
        assert (await api.get("/people", headers=caller)).status_code == 403
    assert (await api.put("/people/E5001", json=PERSON, headers=bearer("it.bo", "it-staff"))).status_code == 403
