"""Delivery of files to the receiving systems (issue 25): to a directory or over SFTP against a real asyncssh
server on loopback; idempotent by name and checksum (a retry finds the same file and succeeds, a different file
of that name is refused and never overwritten); the durable workflow writes the receipt (who, when, SHA-256,
destination), visible to economy, payroll and auditors by system and downloadable from the API."""
from __future__ import annotations

import hashlib

import asyncssh
import pytest
from sqlalchemy import select

from db.file_models import FileDelivery
from files.delivery import (
    DeliveryConfigError,
    DeliveryConflict,
    FileConflict,
    deliver,
    deliver_to_directory,
    record_file,
    target_for,
)
from tests.helpers import poll


def test_directory_delivery_is_idempotent_by_name_and_checksum(tmp_path):
    folder = tmp_path / "payroll"
    assert deliver_to_directory(str(folder), "a.xml", b"<a/>") == "delivered"
    assert deliver_to_directory(str(folder), "a.xml", b"<a/>") == "already there"  # a retried delivery
    with pytest.raises(DeliveryConflict, match="a.xml"):
        deliver_to_directory(str(folder), "a.xml", b"<b/>")
    assert (folder / "a.xml").read_bytes() == b"<a/>"  # never overwritten
    assert sorted(p.name for p in folder.iterdir()) == ["a.xml"]  # no half-written file left


async def test_sftp_delivery_to_a_loopback_server_is_idempotent(sftp_server):
    target = target_for("payroll", {"payroll": sftp_server.url()})
    keys = dict(client_key=sftp_server.client_key, known_hosts=sftp_server.known_hosts)
    assert await deliver(target, "lon-2026-03.xml", b"<paxml/>", **keys) == "delivered"
    assert (sftp_server.root / "in" / "lon-2026-03.xml").read_bytes() == b"<paxml/>"
    assert await deliver(target, "lon-2026-03.xml", b"<paxml/>", **keys) == "already there"
    with pytest.raises(DeliveryConflict, match="not overwritten"):
        await deliver(target, "lon-2026-03.xml", b"<paxml>changed</paxml>", **keys)
    assert (sftp_server.root / "in" / "lon-2026-03.xml").read_bytes() == b"<paxml/>"
    assert sorted(p.name for p in (sftp_server.root / "in").iterdir()) == ["lon-2026-03.xml"]


async def test_sftp_refuses_an_unknown_host_key_and_a_target_without_known_hosts(sftp_server, tmp_path):
    target = target_for("economy", {"economy": sftp_server.url()})
    with pytest.raises(DeliveryConfigError, match="FILE_DELIVERY_KNOWN_HOSTS"):
        await deliver(target, "x.se", b"x", client_key=sftp_server.client_key, known_hosts=None)
    other = tmp_path / "other_known_hosts"
    other.write_text(f"[127.0.0.1]:{sftp_server.port} "
                     f"{asyncssh.generate_private_key('ssh-ed25519').export_public_key().decode()}")
    with pytest.raises(asyncssh.Error):  # a server that is not the configured one gets nothing
        await deliver(target, "x.se", b"x", client_key=sftp_server.client_key, known_hosts=str(other))
    assert not (sftp_server.root / "in" / "x.se").exists()


def test_targets_name_the_missing_setting():
    with pytest.raises(DeliveryConfigError, match="FILE_DELIVERY_TARGETS: no destination for 'ordering'"):
        target_for("ordering", {"economy": "/x"})
    with pytest.raises(DeliveryConfigError, match="no password"):
        target_for("payroll", {"payroll": "sftp://u:secret@host/in"})
    assert target_for("payroll", {"payroll": "sftp://u@host:2222/in"}).display == "sftp://u@host:2222/in"


def test_the_same_name_with_other_bytes_is_a_conflict(sessions):
    from datetime import datetime, timezone

    at = datetime(2026, 3, 1, tzinfo=timezone.utc)
    with sessions.begin() as s:
        first = record_file(s, system="payroll", kind="paxml", name="f.xml", content=b"1", media_type="text/xml",
                            actor="it.anna", at=at).id
        assert record_file(s, system="payroll", kind="paxml", name="f.xml", content=b"1", media_type="text/xml",
                           actor="it.anna", at=at).id == first
        with pytest.raises(FileConflict, match="file_name"):
            record_file(s, system="payroll", kind="paxml", name="f.xml", content=b"2", media_type="text/xml",
                        actor="it.anna", at=at)


async def test_durable_delivery_writes_a_receipt_visible_by_role(api, client, settings, sessions, sftp_server,
                                                                 tmp_path):
    from api.processes import ProcessPath
    from api.routes.files import hand_over

    settings.file_delivery_targets = {"payroll": sftp_server.url(), "ordering": str(tmp_path / "drop")}
    settings.file_delivery_ssh_key, settings.file_delivery_known_hosts = sftp_server.client_key, sftp_server.known_hosts
    path = ProcessPath(client, settings, sessions)
    content = b"<?xml version='1.0'?><paxml/>"
    view = await hand_over(path, system="payroll", kind="paxml", name="paxml-tranemo-2026-03.xml", content=content,
                           media_type="application/xml", actor="it.anna", municipality="tranemo", period="2026-03")
    receipt = await poll(api, f"/files/deliveries/{view.id}", lambda r: r["state"] == "delivered")
    assert receipt["sha256"] == hashlib.sha256(content).hexdigest()
    assert receipt["destination"] == sftp_server.url() and receipt["created_by"] == "it.anna"
    assert receipt["delivered_at"] and receipt["attempts"] == 1
    assert (sftp_server.root / "in" / "paxml-tranemo-2026-03.xml").read_bytes() == content
    # the same export again: the same file, not delivered twice
    again = await hand_over(path, system="payroll", kind="paxml", name="paxml-tranemo-2026-03.xml", content=content,
                            media_type="application/xml", actor="it.anna", municipality="tranemo", period="2026-03")
    assert again.id == view.id and again.state == "delivered"
    # who sees it: payroll and auditors yes, economy not (payroll files carry personal data)
    payroll, economy, auditor = (api.bearer(f"x.{r}", r) for r in ("payroll", "economy", "auditor"))
    assert [r["id"] for r in (await api.get("/files/deliveries", headers=payroll)).json()] == [view.id]
    assert (await api.get("/files/deliveries", headers=economy)).json() == []
    assert (await api.get(f"/files/deliveries/{view.id}/content", headers=economy)).status_code == 404
    download = await api.get(f"/files/deliveries/{view.id}/content", headers=auditor)
    assert download.status_code == 200 and download.content == content
    assert download.headers["x-checksum-sha256"] == receipt["sha256"]
    assert (await api.post(f"/files/deliveries/{view.id}/retry")).status_code == 409


async def test_a_conflicting_file_at_the_destination_fails_the_delivery_without_overwriting(api, client, settings,
                                                                                           sessions, tmp_path):
    from api.processes import ProcessPath
    from api.routes.files import hand_over

    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "order-1.xml").write_bytes(b"theirs")
    settings.file_delivery_targets = {"ordering": str(drop)}
    path = ProcessPath(client, settings, sessions)
    view = await hand_over(path, system="ordering", kind="order", name="order-1.xml", content=b"ours",
                           media_type="application/xml", actor="it.anna")
    receipt = await poll(api, f"/files/deliveries/{view.id}", lambda r: r["state"] == "failed")
    assert "not overwritten" in receipt["last_error"] and receipt["attempts"] == 1
    assert (drop / "order-1.xml").read_bytes() == b"theirs"
    with sessions() as s:
        assert s.scalar(select(FileDelivery.state).where(FileDelivery.id == view.id)) == "failed"
    (drop / "order-1.xml").unlink()  # the receiver cleared its side: IT sends it again
    assert (await api.post(f"/files/deliveries/{view.id}/retry")).status_code == 202
    receipt = await poll(api, f"/files/deliveries/{view.id}", lambda r: r["state"] == "delivered")
    assert receipt["attempts"] == 2 and receipt["last_error"] is None
    assert (drop / "order-1.xml").read_bytes() == b"ours"


async def test_the_sweep_delivers_a_pending_file_whose_start_was_lost(api, client, worker, settings, sessions, tmp_path):
    from datetime import datetime, timezone

    from workflows.file_delivery import FileDeliverySweepWorkflow

    settings.file_delivery_targets = {"economy": str(tmp_path / "economy")}
    with sessions.begin() as s:  # stored, but the API died before it started the delivery
        delivery_id = record_file(s, system="economy", kind="sie", name="lost.se", content=b"#FLAGGA 0",
                                  media_type="text/plain", actor="it.anna", at=datetime.now(timezone.utc)).id
    started = await client.execute_workflow(FileDeliverySweepWorkflow.run, id="file-delivery-sweep-test",
                                            task_queue=worker.task_queue)
    assert started == 1
    await poll(api, f"/files/deliveries/{delivery_id}", lambda r: r["state"] == "delivered")
    assert (tmp_path / "economy" / "lost.se").read_bytes() == b"#FLAGGA 0"
