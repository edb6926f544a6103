"""Issue 11: the audit records are hash-chained; a row altered directly in the database is found, and on
PostgreSQL the database itself refuses UPDATE and DELETE of audit rows."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from activities.equipment import EquipmentActivities
from db.audit_chain import append_refusal, verify
from domain.device_register import RegisterMirror, RegisterOrderInput
from domain.equipment import DeviceOrder
from domain.process import TransitionRecord

NOW = datetime(2026, 3, 10, 9, 0, 0, 123456, tzinfo=timezone.utc)
MOVES = [("order", "ordered", "ordered", "EQ-1"), ("call_off", "ordered", "called_off", "EQ-2"),
         ("deliver", "called_off", "delivered", "EQ-1"), ("activate", "delivered", "in_use", "EQ-6")]


def device_with_log(sessions, number: str) -> None:
    acts = EquipmentActivities(sessions)
    order = DeviceOrder(order_number=number, model_code="LAT-5450", unit_id="TR-KS", user_ref="E1")
    acts.register_order(RegisterOrderInput(workflow_id=f"device-{number}", order=order, ordered_at=NOW))
    for seq, (event, source, dest, rule) in enumerate(MOVES, start=1):
        record = TransitionRecord(seq=seq, at=NOW + timedelta(minutes=seq), event=event, from_state=source,
                                  to_state=dest, actor="it.anna", rule=rule, details={"n": str(seq)})
        acts.mirror_transition(RegisterMirror(
            order_number=number, record=record, unit_id="TR-KS", cost_bearer_unit_id="TR-KS", user_ref="E1",
            location=None, serial_number="S", delivered_at=NOW, renewal_months=48, replaced_by=None))


def tamper(sessions, sql: str) -> None:
    """What someone with direct database access does; on PostgreSQL a superuser must first switch the
    append-only triggers off (the application's role cannot)."""
    with sessions() as s:
        if s.bind.dialect.name == "postgresql":
            s.execute(text("SET session_replication_role = replica"))  # superuser only: skips triggers
        s.execute(text(sql))
        s.commit()


def test_audit_chain_is_intact_after_normal_writes(backend_sessions):
    device_with_log(backend_sessions, "ORD-A-1")
    device_with_log(backend_sessions, "ORD-A-2")
    with backend_sessions() as s:
        append_refusal(s, at=NOW, method="POST", path="/api/v1/devices/ORD-A-1/events", workflow_id="device-ORD-A-1",
                       actor="it.anna", event="sell", status=409, message="not allowed")
        s.commit()
        report = verify(s)
    assert report["intact"], report["broken"]
    assert report["checked"]["device_transitions"] == 8 and report["checked"]["refused_attempts"] == 1


def test_altered_audit_row_is_detected_with_its_first_broken_link(backend_sessions):
    device_with_log(backend_sessions, "ORD-A-1")
    device_with_log(backend_sessions, "ORD-A-2")
    tamper(backend_sessions, "UPDATE device_transitions SET actor = 'someone.else' "
                             "WHERE order_number = 'ORD-A-2' AND seq = 3")
    with backend_sessions() as s:
        report = verify(s)
    assert not report["intact"]
    [link] = report["broken"]
    assert (link["chain"], link["key"], link["seq"]) == ("device_transitions", "ORD-A-2", 3)
    assert "altered" in link["problem"]


def test_deleted_audit_row_breaks_the_next_link(backend_sessions):
    device_with_log(backend_sessions, "ORD-A-1")
    tamper(backend_sessions, "DELETE FROM device_transitions WHERE order_number = 'ORD-A-1' AND seq = 2")
    with backend_sessions() as s:
        [link] = verify(s)["broken"]
    assert (link["key"], link["seq"]) == ("ORD-A-1", 3) and "prev_hash" in link["problem"]


def test_verify_command_exits_1_and_names_the_broken_link(backend_sessions, backend_url):
    device_with_log(backend_sessions, "ORD-A-1")
    command = [sys.executable, "-m", "scripts.verify_audit", backend_url]
    assert subprocess.run(command, capture_output=True).returncode == 0
    tamper(backend_sessions, "UPDATE device_transitions SET reason = 'backdated' WHERE seq = 1")
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 1
    assert "BROKEN device_transitions ORD-A-1 row" in done.stderr


@pytest.mark.parametrize("backend_url", ["postgresql"], indirect=True)  # production's triggers; SQLite has the chain
@pytest.mark.parametrize("sql", ["UPDATE device_transitions SET actor = 'x'", "DELETE FROM device_transitions",
                                 "TRUNCATE device_transitions"])
def test_postgres_refuses_update_and_delete_of_audit_rows(backend_sessions, sql):
    device_with_log(backend_sessions, "ORD-A-1")
    with backend_sessions() as s, pytest.raises(DBAPIError, match="append-only"):
        s.execute(text(sql))


def test_altered_archived_history_and_refusal_are_detected(backend_sessions):
    import gzip
    import hashlib

    from db.audit_chain import append_archive

    history = b'{"events": []}'
    with backend_sessions() as s:
        for n in (1, 2):
            append_archive(s, workflow_id=f"device-ORD-H-{n}", run_id="r1", workflow_type="DeviceLifecycle",
                           business_key=f"ORD-H-{n}", reason="closed", first_event_at=NOW, last_event_at=NOW,
                           event_count=0, history_sha256=hashlib.sha256(history).hexdigest(),
                           history_gz=gzip.compress(history), archived_at=NOW)
            s.flush()
            append_refusal(s, at=NOW, method="POST", path="/p", workflow_id=f"device-ORD-H-{n}", actor="a",
                           event="sell", status=409, message="no")
            s.flush()
        s.commit()
        assert verify(s)["intact"]
    forged = gzip.compress(b'{"events": [{"eventId": "1"}]}').hex()
    literal = f"'\\x{forged}'" if backend_sessions.kw["bind"].dialect.name == "postgresql" else f"X'{forged}'"
    tamper(backend_sessions, f"UPDATE history_archive SET history_gz = {literal} WHERE business_key = 'ORD-H-2'")
    tamper(backend_sessions, "UPDATE refused_attempts SET actor = 'b' WHERE workflow_id = 'device-ORD-H-1'")
    with backend_sessions() as s:
        links = {link["chain"]: link for link in verify(s)["broken"]}
    assert links["history_archive"]["key"] == "device-ORD-H-2/r1" and "digest" in links["history_archive"]["problem"]
    assert links["refused_attempts"]["key"] == "device-ORD-H-1" and "altered" in links["refused_attempts"]["problem"]
