"""Benchmark (issue 21, "In"): support mail → tickets on a real Temporal dev server.

Measures, in one run: N mails arriving at once in the support mailbox (the development Maildir and, when
Dovecot is installed, a private IMAP server on loopback), read by one poll: tickets per second and the
p50/p95 time from arrival (all N delivered) to the ticket registered by its workflow; against a bare loop
that only parses the same N mails (the floor of the mail work itself).
Usage: python -m bench.mail_in [N]   (default 300)"""
from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from activities.audit import ensure_search_attributes
from activities.mail_sources import ImapSource, MaildirSource, MailSource, deliver_to_maildir
from activities.mailbox import MailIntake, TemporalTickets
from codec import make_data_converter, new_key_spec
from config import Settings
from db.migrate import upgrade
from db.seed import load_reference_data
from db.session import make_sessionmaker
from db.ticket_models import Ticket
from domain.mail_in import MailLimits, parse_mail
from tests.mail_in.dovecot import DovecotMissing, running_dovecot
from tests.mail_in.helpers import PNG, mail
from worker import build_worker


def mails(n: int, tag: str) -> list[bytes]:
    """Like the support mailbox: every fifth mail carries a screenshot."""
    return [mail(sender=f"person{i}@tranemo.se", subject=f"{tag} ärende {i}", message_id=f"<{tag}.{i}@bench>",
                 body="Hej!\nDatorn startar inte efter uppdateringen.\n/Person",
                 attachments=[("skarmbild.png", "image/png", PNG)] if i % 5 == 0 else [])
            for i in range(n)]


def q(xs: list[float], p: float) -> float:
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def bare_parse(raws: list[bytes]) -> dict[str, float]:
    limits = MailLimits()
    began = time.perf_counter()
    for raw in raws:
        parse_mail(raw, limits)
    return {"mails/s": len(raws) / (time.perf_counter() - began)}


async def intake_run(url: str, source: MailSource, n: int) -> dict[str, float]:
    """One poll over N mails that arrived together; each ticket's time from arrival to registered. Its own
    dev server: each run's database numbers its tickets from T<year>-00001 again."""
    binary = Path(sys.executable).parent / "temporal"
    env = await WorkflowEnvironment.start_local(data_converter=make_data_converter(new_key_spec()),
                                                dev_server_existing_path=str(binary), ui=False)
    async with env:
        await ensure_search_attributes(env.client, "default")
        return await _intake(env.client, url, source, n)


async def _intake(client, url: str, source: MailSource, n: int) -> dict[str, float]:
    upgrade(url)
    sessions = make_sessionmaker(url)
    load_reference_data(sessions, 2026)
    settings = Settings(database_url=url, temporal_task_queue=f"bench-{uuid.uuid4().hex[:8]}")
    seen: dict[str, float] = {}

    def registered() -> list[str]:
        with sessions() as s:
            return list(s.scalars(select(Ticket.number)))

    async def watch() -> None:  # off the event loop: the poll shares it
        while len(seen) < n:
            for number in await asyncio.to_thread(registered):
                seen.setdefault(number, time.perf_counter())
            await asyncio.sleep(0.02)

    async with build_worker(client, sessions, settings):
        arrived = time.perf_counter()
        watcher = asyncio.create_task(watch())
        report = await MailIntake(sessions, settings, TemporalTickets(client, settings)).poll(source)
        polled = time.perf_counter() - arrived
        if report.ticket != n:
            watcher.cancel()
            raise RuntimeError(f"not every mail became a ticket: {report}")
        await asyncio.wait_for(watcher, 300)
    source.close()
    sessions.kw["bind"].dispose()
    latency = sorted((t - arrived) * 1000 for t in seen.values())
    return {"mails/s": n / ((max(seen.values()) - arrived)), "poll s": polled,
            "p50 ms": statistics.median(latency), "p95 ms": q(latency, 0.95)}


async def main(n: int) -> None:
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        raws = mails(n, "md")
        rows["bare parse loop"] = bare_parse(raws)
        for raw in raws:
            deliver_to_maildir(Path(tmp) / "maildir", raw)
        rows["maildir → tickets"] = await intake_run(f"sqlite:///{tmp}/md.db", MaildirSource(Path(tmp) / "maildir"), n)
        try:
            with running_dovecot(Path(tmp) / "dovecot") as dovecot:
                with dovecot.mailbox() as box:
                    for raw in mails(n, "imap"):
                        box.append(raw, "INBOX")
                rows["imap (dovecot) → tickets"] = await intake_run(f"sqlite:///{tmp}/imap.db",
                                                                    ImapSource(dovecot.mailbox), n)
        except DovecotMissing as missing:
            print(f"IMAP left out: {missing}")
    print(f"Support mail → tickets on the Temporal dev server, N={n} mails arriving at once (one poll)")
    header = ["mails/s", "poll s", "p50 ms", "p95 ms"]
    print(f"{'run':>26} | " + " | ".join(f"{h:>10}" for h in header))
    for name, row in rows.items():
        print(f"{name:>26} | " + " | ".join(f"{row[h]:>10.1f}" if h in row else f"{'':>10}" for h in header))
    floor = rows["bare parse loop"]["mails/s"]
    for name, row in rows.items():
        if name != "bare parse loop":
            print(f"{name}: {row['mails/s'] / floor:.3f}x the bare parse loop")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
