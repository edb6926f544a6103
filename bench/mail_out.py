"""Benchmark (issue 21): outbound mail, messages delivered per second against the local SMTP server (aiosmtpd
on loopback, the development mail server's handler), in one run:
- Ramflow end to end: N outbox rows, one `mail-<id>` workflow each on a Temporal dev server (start, the send
  activity: render, resolve the address, send, record), concurrently;
- the send activity's logic alone (no Temporal), concurrently;
- a bare aiosmtplib loop (one connection per message, as the transport does) and a bare smtplib loop.
Usage: python -m bench.mail_out [N]   (default 300)"""
from __future__ import annotations

import asyncio
import smtplib
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from temporalio.testing import WorkflowEnvironment

from activities.audit import ensure_search_attributes
from activities.mail import MailActivities
from codec import make_data_converter, new_key_spec
from config import Settings
from db.migrate import upgrade
from db.models import OutboxMessage
from db.people_models import Person
from db.seed import load_reference_data
from db.session import make_sessionmaker
from mail.devserver import controller
from worker import build_worker
from workflows.mail import start_delivery

CONCURRENCY = 32


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database(tmp: str, name: str, n: int):  # noqa: ANN201
    url = f"sqlite:///{tmp}/{name}.db"
    upgrade(url)
    sessions = make_sessionmaker(url)
    load_reference_data(sessions, 2026)
    now = datetime.now(timezone.utc)
    with sessions.begin() as s:
        s.add(Person(employee_ref="E5001", name="Eva Ek", email="e5001@tranemo.example", language="sv",
                     unit_id="TR-KS", active=True, updated_at=now))
        s.flush()
        s.add_all(OutboxMessage(created_at=now, topic="buyout_offer", recipient="employee:E5001", subject="s",
                                body="b", key=f"bench:{name}:{i}", state="pending", attempts=0,
                                data={"order_number": f"ORD-{i}", "model_name": "Dell", "price": "900.00",
                                      "deadline": now.isoformat()}) for i in range(n))
    return url, sessions


async def bounded(n: int, work) -> None:  # noqa: ANN001
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        async with gate:
            await work(i)

    await asyncio.gather(*(one(i) for i in range(n)))


async def ramflow_end_to_end(tmp: str, settings: Settings, n: int) -> float:
    binary = Path(sys.executable).parent / "temporal"
    env = await WorkflowEnvironment.start_local(data_converter=make_data_converter(new_key_spec()),
                                                dev_server_existing_path=str(binary), ui=False)
    async with env:
        await ensure_search_attributes(env.client, "default")
        url, sessions = database(tmp, "e2e", n)
        queue = f"bench-mail-{uuid.uuid4().hex[:8]}"
        configured = settings.model_copy(update={"database_url": url, "temporal_task_queue": queue})
        async with build_worker(env.client, sessions, configured):
            began = time.perf_counter()

            async def deliver(i: int) -> None:
                await start_delivery(env.client, queue, i + 1, 3)
                await env.client.get_workflow_handle(f"mail-{i + 1}").result()

            await bounded(n, deliver)
            elapsed = time.perf_counter() - began
        with sessions() as s:
            sent = s.query(OutboxMessage).filter_by(state="sent").count()
        assert sent == n, f"{sent} of {n} sent"
        return n / elapsed


async def activity_alone(tmp: str, settings: Settings, n: int) -> float:
    _, sessions = database(tmp, "activity", n)
    mail = MailActivities(None, sessions, settings)
    began = time.perf_counter()
    await bounded(n, lambda i: mail.deliver(i + 1))
    return n / (time.perf_counter() - began)


def bare_message(i: int) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "ramflow@it.example", "e5001@tranemo.example", f"bench {i}"
    message.set_content("Hej!\n" * 20)
    return message


async def bare_aiosmtplib(port: int, n: int) -> float:
    began = time.perf_counter()
    await bounded(n, lambda i: aiosmtplib.send(bare_message(i), hostname="127.0.0.1", port=port, start_tls=False))
    return n / (time.perf_counter() - began)


def bare_smtplib(port: int, n: int) -> float:
    began = time.perf_counter()
    for i in range(n):
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(bare_message(i))
    return n / (time.perf_counter() - began)


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = controller(Path(tmp) / "outgoing", Path(tmp) / "support", "support@it.example", port=port)
        server.start()
        try:
            settings = Settings(mail_transport="smtp", mail_smtp_port=port)
            rows = {
                "bare smtplib, one at a time": bare_smtplib(port, n),
                f"bare aiosmtplib, {CONCURRENCY} at once": await bare_aiosmtplib(port, n),
                f"send activity alone, {CONCURRENCY} at once": await activity_alone(tmp, settings, n),
                f"Ramflow (workflow per message), {CONCURRENCY} at once": await ramflow_end_to_end(tmp, settings, n),
            }
        finally:
            server.stop()
        caught = len(list((Path(tmp) / "outgoing").glob("*.eml")))
    print(f"Outbound mail to the local SMTP server (aiosmtpd on loopback), N={n} per row; {caught} mails caught")
    base = rows[f"bare aiosmtplib, {CONCURRENCY} at once"]
    for name, rate in rows.items():
        print(f"{name:>48} | {rate:8.1f} messages/s | {rate / base:5.2f}x bare aiosmtplib")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
