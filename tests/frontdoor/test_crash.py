"""Issue 7 crash test: the worker is SIGKILLed during a burst of orders and deliveries and restarted; every
process completes and each side effect happens exactly once (register rows, audit rows, call-offs, charges,
notifications). While the worker is away, a device's view comes from the database mirror, fast."""
from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
from sqlalchemy import func, select

from db.models import CallOff, Charge, Device, DeviceTransition, OutboxMessage
from db.session import make_sessionmaker

N = 40
BOUND = 120.0


async def until_done(call) -> httpx.Response:
    deadline = time.monotonic() + BOUND
    while True:
        try:
            response = await call()
        except httpx.TransportError:
            response = None
        if response is not None and (response.status_code != 503 or time.monotonic() > deadline):
            return response
        await asyncio.sleep(1.0)


async def test_worker_killed_mid_burst_every_process_completes_with_each_side_effect_once(stack):
    async with httpx.AsyncClient(base_url=f"{stack.base}/api/v1", timeout=60, headers=stack.bearer("it.crash"),
                                 limits=httpx.Limits(max_connections=100)) as http:
        async def lifecycle(i: int) -> str:
            number = f"ORD-CRASH-{i:03d}"
            ordered = await until_done(lambda: http.post("/orders", json={
                "order_number": number, "model_code": "LAT-5450", "unit_id": "UL-KS", "user_ref": "E2101"}))
            assert ordered.status_code in (200, 201), ordered.text
            delivered = await until_done(lambda: http.post(
                f"/devices/{number}/events", headers={"Idempotency-Key": f"deliver-{number}"},
                json={"action": {"event": "deliver", "serial_number": f"S-{i}"}}))
            assert delivered.status_code == 200, delivered.text
            return delivered.json()["state"]

        control = await lifecycle(999)  # one device before the crash: what each side effect looks like
        case = await http.post("/development-cases", json={
            "case_id": "DEV-CRASH-1", "title": "Nytt ekonomisystem", "kind": "new_system_setup", "unit_id": "UL-KS",
            "estimated_cost": "2500000.00"})
        assert case.status_code == 201, case.text
        burst = asyncio.gather(*[lifecycle(i) for i in range(N)])
        await asyncio.sleep(1.5)
        stack.kill("worker")  # SIGKILL mid-burst
        started = time.monotonic()
        view = await http.get("/devices/ORD-CRASH-999")
        read_seconds = time.monotonic() - started
        case_view = await http.get("/development-cases/DEV-CRASH-1")  # an AG/GV process: its mirror too
        await asyncio.sleep(2.0)
        stack.start_worker()
        states = await asyncio.wait_for(burst, BOUND + 30)
    assert control == "in_use" and set(states) == {"in_use"}
    assert view.status_code == 200 and view.headers["x-ramflow-view"] == "mirror" and read_seconds < 5
    assert view.json()["state"] == "in_use"
    assert case_view.status_code == 200 and case_view.headers["x-ramflow-view"] == "mirror", case_view.text
    assert case_view.json()["state"] == "at_steering_group" and case_view.json()["log"]

    sessions = make_sessionmaker(f"sqlite:///{stack.db}")
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Device)) == N + 1
        events = {}
        for number, event in s.execute(select(DeviceTransition.order_number, DeviceTransition.event)
                                       .order_by(DeviceTransition.order_number, DeviceTransition.seq)):
            events.setdefault(number, []).append(event)
        expected = events["ORD-CRASH-999"]
        assert expected == ["order", "call_off", "deliver", "activate"]
        assert all(log == expected for log in events.values()), [n for n, log in events.items() if log != expected]
        call_offs = Counter(s.scalars(select(CallOff.order_number)))
        charges = Counter(s.scalars(select(Charge.order_number)))
        mail = Counter(s.scalars(select(OutboxMessage.workflow_id).where(OutboxMessage.workflow_id.like("device-%"))))
        for i in range(N):
            number = f"ORD-CRASH-{i:03d}"
            assert call_offs[number] == call_offs["ORD-CRASH-999"] == 1, number
            assert charges[number] == charges["ORD-CRASH-999"] >= 1, number
            assert mail[f"device-{number}"] == mail["device-ORD-CRASH-999"], number
    sessions.kw["bind"].dispose()
