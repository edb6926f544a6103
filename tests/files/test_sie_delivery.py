"""Issue 25: a published run's SIE 4I file handed to the economy system over SFTP (an asyncssh server on
loopback) by the shared durable delivery (files/delivery.py): receipted, idempotent, never a partial file."""
from __future__ import annotations

import hashlib
from datetime import date

from db.billing_models import LedgerMappingRow
from tests.billing.helpers import add_rental
from tests.billing.sie_reader import read_sie
from tests.helpers import poll


async def test_issue25_sie_is_delivered_over_sftp_receipted_and_idempotent(api, settings, sessions, sftp_server):
    settings.file_delivery_targets = {"economy": sftp_server.url()}
    settings.file_delivery_ssh_key, settings.file_delivery_known_hosts = sftp_server.client_key, sftp_server.known_hosts
    with sessions.begin() as s:
        add_rental(s, "UL-1", "UL-KS", date(2026, 3, 10))
    run = await api.post("/billing/runs", json={"municipality": "ulricehamn", "period": "2026-03"})
    assert run.status_code == 201, run.text
    path = "/billing/runs/billing-ulricehamn-2026-03/sie/delivery"
    economy = api.bearer("ek.eva", "economy")
    assert (await api.post(path, headers=economy)).status_code == 403  # it-admin hands it over
    view = await api.post(path)
    assert view.status_code == 201, view.text
    receipt = await poll(api, f"/files/deliveries/{view.json()['id']}", lambda r: r["state"] == "delivered")
    delivered = (sftp_server.root / "in" / "ramflow-ulricehamn-2026-03-regular.se").read_bytes()
    assert receipt["sha256"] == hashlib.sha256(delivered).hexdigest() and receipt["system"] == "economy"
    assert delivered == (await api.get("/billing/runs/billing-ulricehamn-2026-03/sie", headers=economy)).content
    assert read_sie(delivered).vouchers
    again = await api.post(path)  # the same file and receipt, not a second copy
    assert again.json()["id"] == view.json()["id"] and again.json()["state"] == "delivered"
    listed = (await api.get("/files/deliveries", headers=economy)).json()
    assert [r["file_name"] for r in listed] == ["ramflow-ulricehamn-2026-03-regular.se"]


async def test_issue25_unmapped_kind_delivers_nothing(api, settings, sessions, tmp_path):
    settings.file_delivery_targets = {"economy": str(tmp_path / "economy")}
    with sessions.begin() as s:
        add_rental(s, "UL-1", "UL-KS", date(2026, 3, 10))
        s.delete(s.get(LedgerMappingRow, ("ulricehamn", "rent", "*")))
    run = await api.post("/billing/runs", json={"municipality": "ulricehamn", "period": "2026-03"})
    assert run.status_code == 201, run.text
    refused = await api.post("/billing/runs/billing-ulricehamn-2026-03/sie/delivery")
    assert refused.status_code == 409 and "rent/workstation" in refused.json()["detail"]
    assert (await api.get("/files/deliveries")).json() == [] and not (tmp_path / "economy").exists()
