"""Issue 20: the audit chains are anchored outside the database. A signed checkpoint of every chain's head
and length, in its own store, lets /audit/verify and scripts/verify_audit see what the chain alone cannot:
a truncated tail, a deleted chain, rows edited and rechained, and a forged checkpoint."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from config import Settings
from db.audit_anchor import AnchorStore, chain_heads
from db.audit_chain import append_refusal, verify
from db.models import DeviceTransition
from domain.audit import audit_line_content, link_hash
from tests.audit.test_tamper_evidence import NOW, device_with_log, tamper

KEY = "anchor-key-held-by-the-api-not-the-dba"


@pytest.fixture
def anchors(tmp_path: Path) -> AnchorStore:
    return AnchorStore(tmp_path / "audit-anchors", KEY.encode())


def _refusals(sessions, n: int, tag: str = "r") -> None:
    with sessions() as s:
        for i in range(n):
            append_refusal(s, at=NOW, method="POST", path=f"/api/v1/devices/ORD-{tag}{i}/events", actor="e.someone",
                           status=403, message="roles")
            s.commit()


def _anchored(sessions, anchors: AnchorStore) -> dict:
    with sessions() as s:
        path = anchors.write(s)
    return json.loads(path.read_text())


def _broken(sessions, anchors: AnchorStore) -> list[dict]:
    with sessions() as s:
        report = verify(s, anchors)
    assert report["anchor"]["configured"]
    return report["broken"]


def test_checkpoint_names_every_chain_with_its_length_and_head_and_is_signed(backend_sessions, anchors):
    device_with_log(backend_sessions, "ORD-N-1")
    _refusals(backend_sessions, 3)
    body = _anchored(backend_sessions, anchors)
    chains = {(c["table"], c["key"]): c["length"] for c in body["chains"]}
    assert chains[("device_transitions", "ORD-N-1")] == 4 and chains[("refused_attempts", None)] == 3
    assert len(body["signature"]) == 64 and _broken(backend_sessions, anchors) == []
    path = anchors.files()[0]
    assert not os.access(path, os.W_OK) or os.geteuid() == 0  # read-only once written
    with pytest.raises(FileExistsError):  # the store never overwrites a checkpoint
        open(path, "x").close()


def test_truncated_tail_of_refusals_is_detected(backend_sessions, anchors):
    _refusals(backend_sessions, 5)
    _anchored(backend_sessions, anchors)
    tamper(backend_sessions, "DELETE FROM refused_attempts WHERE id IN (SELECT id FROM refused_attempts "
                             "ORDER BY id DESC LIMIT 2)")
    with backend_sessions() as s:
        assert verify(s)["intact"]  # the chain alone still verifies: this is what the anchor is for
    [problem] = _broken(backend_sessions, anchors)
    assert problem["chain"] == "refused_attempts" and "truncated" in problem["problem"]
    assert problem["found"]["length"] == 3 and problem["anchored"]["length"] == 5


@pytest.mark.parametrize("removed, word", [
    ("order_number = 'ORD-T-2' AND seq = 4", "truncated"),  # the tail of a process's log
    ("order_number = 'ORD-T-2'", "gone"),  # a whole process's log
])
def test_truncated_or_deleted_process_log_is_detected(backend_sessions, anchors, removed, word):
    device_with_log(backend_sessions, "ORD-T-1")
    device_with_log(backend_sessions, "ORD-T-2")
    _anchored(backend_sessions, anchors)
    tamper(backend_sessions, f"DELETE FROM device_transitions WHERE {removed}")
    [problem] = _broken(backend_sessions, anchors)
    assert (problem["chain"], problem["key"]) == ("device_transitions", "ORD-T-2") and word in problem["problem"]


def test_edited_and_rechained_log_is_detected(backend_sessions, anchors):
    device_with_log(backend_sessions, "ORD-E-1")
    _anchored(backend_sessions, anchors)
    with backend_sessions() as s:  # what someone who knows the hashing does: edit, then recompute every link
        rows = list(s.scalars(select(DeviceTransition).where(DeviceTransition.order_number == "ORD-E-1")
                              .order_by(DeviceTransition.seq)))
        forged = []
        prev = rows[0].prev_hash
        for row in rows:
            actor = "someone.else" if row.seq == 2 else row.actor
            row_content = audit_line_content("order_number", "ORD-E-1", row)
            row_content["actor"] = actor
            digest = link_hash(prev, row_content)
            forged.append((row.id, actor, prev, digest))
            prev = digest
    for row_id, actor, prev, digest in forged:
        tamper(backend_sessions, f"UPDATE device_transitions SET actor = '{actor}', prev_hash = '{prev}', "
                                 f"hash = '{digest}' WHERE id = {row_id}")
    with backend_sessions() as s:
        assert verify(s)["intact"]  # rechained: the chain alone cannot tell
    [problem] = _broken(backend_sessions, anchors)
    assert problem["key"] == "ORD-E-1" and "rechained" in problem["problem"]


def test_chains_grown_after_the_checkpoint_still_verify(backend_sessions, anchors):
    device_with_log(backend_sessions, "ORD-G-1")
    _refusals(backend_sessions, 2)
    _anchored(backend_sessions, anchors)
    _refusals(backend_sessions, 2, tag="later")
    device_with_log(backend_sessions, "ORD-G-2")
    assert _broken(backend_sessions, anchors) == []


def test_forged_newest_checkpoint_is_reported_and_the_last_signed_one_used(backend_sessions, anchors):
    _refusals(backend_sessions, 4)
    _anchored(backend_sessions, anchors)
    tamper(backend_sessions, "DELETE FROM refused_attempts WHERE id IN (SELECT id FROM refused_attempts "
                             "ORDER BY id DESC LIMIT 1)")
    with backend_sessions() as s:  # someone without the key writes a checkpoint that matches the shortened chain
        forged = {"format": "ramflow-audit-anchor/1", "at": "2099-01-01T00:00:00+00:00", "key_id": "x",
                  "chains": chain_heads(s), "signature": "0" * 64}
    (anchors.directory / "anchor-20990101T000000000000Z-forged.json").write_text(json.dumps(forged))
    problems = {p["chain"]: p["problem"] for p in _broken(backend_sessions, anchors)}
    assert "signature" in problems["anchor"] and "truncated" in problems["refused_attempts"]


def test_verify_without_a_key_says_anchoring_is_off(backend_sessions):
    with backend_sessions() as s:
        report = verify(s, AnchorStore.from_settings(Settings()))
    assert report["intact"] and report["anchor"] == {"configured": False}


def test_verify_command_anchors_on_demand_and_exits_1_on_truncation(backend_sessions, backend_url, tmp_path):
    _refusals(backend_sessions, 3)
    env = {**os.environ, "AUDIT_ANCHOR_KEY": KEY, "AUDIT_ANCHOR_DIR": str(tmp_path / "anchors")}
    run = [sys.executable, "-m", "scripts.verify_audit"]
    written = subprocess.run([*run, "--anchor", backend_url], capture_output=True, text=True, env=env, timeout=120)
    assert written.returncode == 0, written.stderr
    assert Path(written.stdout.strip()).parent == tmp_path / "anchors"
    assert subprocess.run([*run, backend_url], capture_output=True, text=True, env=env, timeout=120).returncode == 0
    tamper(backend_sessions, "DELETE FROM refused_attempts WHERE id IN (SELECT id FROM refused_attempts "
                             "ORDER BY id DESC LIMIT 1)")
    done = subprocess.run([*run, backend_url], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1 and "BROKEN refused_attempts None: the chain is shorter" in done.stderr


def test_settings_key_makes_a_store_in_the_configured_directory(tmp_path):
    settings = Settings(audit_anchor_key=SecretStr(KEY), audit_anchor_dir=str(tmp_path / "a"))
    store = AnchorStore.from_settings(settings)
    assert store is not None and store.directory == tmp_path / "a" and store.key == KEY.encode()


@pytest.mark.asyncio
async def test_audit_verify_endpoint_reports_a_truncation_against_the_configured_anchor(backend_url, backend_sessions,
                                                                                         issuer, bearer, tmp_path):
    import httpx

    from api.main import create_app

    settings = Settings(database_url=backend_url, oidc_issuer=issuer.url, oidc_audience=issuer.audience,
                        audit_anchor_key=SecretStr(KEY), audit_anchor_dir=str(tmp_path / "anchors"))
    _refusals(backend_sessions, 3)
    _anchored(backend_sessions, AnchorStore.from_settings(settings))
    tamper(backend_sessions, "DELETE FROM refused_attempts WHERE id IN (SELECT id FROM refused_attempts "
                             "ORDER BY id DESC LIMIT 1)")
    app = create_app(settings=settings, sessions=backend_sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ramflow.test",
                                 headers=bearer("a.auditor", "auditor")) as http:
        report = (await http.get("/api/v1/audit/verify")).json()
    assert not report["intact"] and report["anchor"]["file"].startswith("anchor-")
    assert [(b["chain"], b["found"]["length"]) for b in report["broken"]] == [("refused_attempts", 2)]
