"""What issue 11's tamper evidence and encryption cost, measured in one run (printing figures and ratios):

    .venv/bin/python -m bench.audit_overhead [N]

- the payload codec: encode + decode of a device snapshot with its log, against the plain converter;
- one audit line with its hash chain (read previous hash + SHA-256) against the plain insert, on SQLite;
- archiving a stored device history (94 events) and verifying every chain.
"""
from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.audit import store_history
from codec import make_data_converter, new_key_spec
from db.audit_chain import verify
from db.migrate import upgrade
from db.models import DeviceTransition
from db.seed import load_reference_data
from db.session import make_sessionmaker
from domain.audit import ArchiveRequest
from domain.equipment import DeviceOrder, DeviceSnapshot
from domain.process import TransitionRecord

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def snapshot() -> DeviceSnapshot:
    log = [TransitionRecord(seq=i, at=NOW + timedelta(days=i), event="reassign", from_state="in_use",
                            to_state="in_use", actor="it.anna", reason="moved", rule="EQ-7",
                            details={"unit_id": "TR-KS -> TR-SOC"}) for i in range(1, 12)]
    order = DeviceOrder(order_number="ORD-B-1", model_code="LAT-5450", unit_id="TR-KS", user_ref="E5001")
    return DeviceSnapshot(order=order, unit_id="TR-KS", user_ref="E5001", state="in_use", log=log)


async def per_payload(converter, value, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        payloads = await converter.encode([value])
        await converter.decode(payloads, [DeviceSnapshot])
    return (time.perf_counter() - start) / n * 1e6


def audit_lines(sessions, n: int, chained: bool) -> float:
    from activities.audit_trail import append_audit_line
    from activities.equipment import EquipmentActivities
    from domain.device_register import RegisterOrderInput

    number = f"ORD-B-{'C' if chained else 'P'}"
    order = DeviceOrder(order_number=number, model_code="LAT-5450", unit_id="TR-KS", user_ref="E1")
    EquipmentActivities(sessions).register_order(RegisterOrderInput(workflow_id=f"device-{number}", order=order,
                                                                    ordered_at=NOW))
    start = time.perf_counter()
    for seq in range(1, n + 1):
        record = TransitionRecord(seq=seq, at=NOW, event="reassign", from_state="in_use", to_state="in_use",
                                  actor="it.anna", rule="EQ-7", details={"n": str(seq)})
        with sessions.begin() as s:
            if chained:
                append_audit_line(s, DeviceTransition, "order_number", number, record)
            else:  # what the line cost before the chain: the idempotency check and the insert
                if s.scalar(select(DeviceTransition.id).where(DeviceTransition.order_number == number,
                                                                DeviceTransition.seq == seq)) is None:
                    s.add(DeviceTransition(order_number=number, **record.model_dump()))
    return (time.perf_counter() - start) / n * 1e3


async def main(n: int) -> None:
    value = snapshot()
    encrypted = make_data_converter(new_key_spec())
    plain_us = statistics.median([await per_payload(pydantic_data_converter, value, n) for _ in range(3)])
    codec_us = statistics.median([await per_payload(encrypted, value, n) for _ in range(3)])
    size = len((await pydantic_data_converter.encode([value]))[0].SerializeToString())
    print(f"payload codec: {size}-byte snapshot, encode+decode {plain_us:.0f} µs plain, {codec_us:.0f} µs "
          f"encrypted ({codec_us / plain_us:.2f}x)")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        sessions = make_sessionmaker(url)
        load_reference_data(sessions, 2026)
        plain_ms = audit_lines(sessions, n, chained=False)
        chained_ms = audit_lines(sessions, n, chained=True)
        print(f"audit line on SQLite (own transaction): {plain_ms:.2f} ms plain, {chained_ms:.2f} ms hash-chained "
              f"({chained_ms / plain_ms:.2f}x)")
        path = ROOT / "tests/workflows/histories/device_renewal_buyout.json"
        history = WorkflowHistory.from_json("device-ORD-HIST-1", json.loads(path.read_text()))
        start = time.perf_counter()
        for i in range(n):
            store_history(sessions, ArchiveRequest(workflow_id=f"device-B-{i}", run_id="r", workflow_type="DeviceLifecycle",
                                                   reason="closed"), history)
        archive_ms = (time.perf_counter() - start) / n * 1e3
        stored = path.stat().st_size
        print(f"archive: {len(history.events)}-event history ({stored // 1024} KiB JSON) stored in {archive_ms:.1f} ms")
        start = time.perf_counter()
        with sessions() as s:
            report = verify(s)
        seconds = time.perf_counter() - start
        rows = sum(report["checked"].values())
        broken = sorted({link["key"] for link in report["broken"]})
        print(f"verify: {rows} rows ({report['checked']['history_archive']} histories) in {seconds * 1e3:.0f} ms; "
              f"broken chains: {broken} (the comparison lines written without a chain, as expected)")
        sessions.kw["bind"].dispose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
