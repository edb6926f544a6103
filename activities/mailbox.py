"""The support mailbox becomes tickets (issue 21, "In"; rules TK-2, TK-5). Each mail, on its own:

1. parsed (domain/mail_in.py) and claimed once by its Message-ID (`inbound_mail`, unique): a new ticket's
   number is allocated and stored with the claim, so a crash anywhere after it reopens the *same* ticket;
2. a new ticket (its workflow started under `ticket-<number>`: a repeat finds it started), or a reply added
   to its ticket's conversation (a ticket waiting for the customer resumes, TK-5), or set aside (loop-prone
   mail, RFC 3834; bad input with its reason);
3. moved out of the inbox (processed, or kept aside): the inbox holds what is still to be read.
A mail that fails stays in the inbox for the next poll; the others go on."""
from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from anyio import to_thread
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.mail_sources import MailSource, source_from
from config import Settings
from db.conversation import add_attachment, add_message, has_mail, ticket_of_thread
from db.governance_queries import framework_in_force
from db.mail_models import IN, InboundMail
from db.numbers import next_number
from db.people_models import Person
from db.ticket_models import Ticket
from db.ticket_queries import ticket_start
from domain.framework_changes import FrameworkParameters
from domain.mail_in import (DESCRIPTION_MAX, UNKNOWN_SENDER, MailLimits, MailPollReport, MailPollRequest, ParsedMail,
                            parse_mail, tagged_number)
from domain.support_calendar import default_calendar
from domain.tickets import WAITING, Resume, TicketCommand, TicketReport, TicketStart, ticket_workflow_id
from workflows.mail_in import POLL_MAILBOX

log = logging.getLogger(__name__)
MAIL_ACTOR = "mail"  # who reports a mailed ticket (the transition log's actor)
# InboundMail.state: claimed (opening / threading), then what became of the mail
OPENING, THREADING, TICKET, THREADED, IGNORED, REJECTED = (
    "opening", "threading", "ticket", "threaded", "ignored", "rejected")
DONE = {OPENING: TICKET, THREADING: THREADED}
SEQ_ATTEMPTS = 5
ALLOCATION_ATTEMPTS = 20  # as api.processes: allocated numbers skip those a workflow already has


@dataclass(frozen=True)
class Claim:
    state: str
    ticket_number: str | None
    reporter_ref: str | None
    received_at: datetime
    trusted_thread: bool = True  # False: matched by the subject tag only, from someone else than the reporter
    fresh: bool = False  # claimed by this attempt (not found from an earlier one)


class TemporalTickets:
    """Opens tickets and resumes them through their workflows (the seam the tests and the benchmark use)."""

    def __init__(self, client: Client, settings: Settings) -> None:
        self.client, self.settings = client, settings

    async def open(self, start: TicketStart) -> bool:
        """Start the ticket's workflow; False if one with its number exists (or existed) already."""
        from workflows.tickets import TicketWorkflow

        try:
            await self.client.start_workflow(
                TicketWorkflow.run, start, id=ticket_workflow_id(start.report.number),
                task_queue=self.settings.temporal_task_queue, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
            return True
        except WorkflowAlreadyStartedError:
            return False

    async def resume(self, number: str, actor: str, update_id: str) -> None:
        """TK-5: the customer answered; the same event the API sends (`resume`), once per mail."""
        from workflows.tickets import TicketWorkflow

        command = TicketCommand(actor=actor, reason="kunden svarade per e-post", action=Resume())
        try:
            await self.client.get_workflow_handle(ticket_workflow_id(number)).execute_update(
                TicketWorkflow.apply, command, id=update_id)
        except WorkflowUpdateFailedError as error:  # no longer waiting (IT resumed it meanwhile)
            log.info("ticket %s not resumed by mail: %s", number, error.cause)


class MailIntake:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings, tickets: TemporalTickets,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.sessions, self.settings, self.tickets, self.now = sessions, settings, tickets, now
        self.limits = MailLimits(max_bytes=settings.mail_max_bytes,
                                 attachment_max_bytes=settings.mail_attachment_max_bytes,
                                 attachment_types=tuple(settings.mail_attachment_types))

    async def poll(self, source: MailSource, limit: int | None = None,
                   heartbeat: Callable[..., None] = lambda *a: None) -> MailPollReport:
        """Every mail in the inbox, `mail_poll_concurrency` at a time (the source's calls one at a time: one
        IMAP connection); each on its own, so one that fails stays in the inbox and the rest go on."""
        report, lock = MailPollReport(), asyncio.Lock()
        slots = asyncio.Semaphore(self.settings.mail_poll_concurrency)

        async def one(key: str) -> None:
            async with slots:
                try:
                    report.count(await self.take(source, key, lock))
                except Exception:  # noqa: BLE001 - this mail stays in the inbox; the rest go on
                    log.exception("support mail %s not taken; it stays in the inbox", key)
                    report.failed += 1
                heartbeat(report.model_dump())

        await asyncio.gather(*(one(key) for key in (await to_thread.run_sync(source.keys))[:limit]))
        return report

    async def take(self, source: MailSource, key: str, lock: asyncio.Lock) -> str:
        """One mail from claim to move; safe to repeat at any point (idempotent per Message-ID)."""
        async with lock:
            fetched = await to_thread.run_sync(source.fetch, key, self.limits.max_bytes)
        mail = await to_thread.run_sync(parse_mail, fetched.raw, self.limits, fetched.size)  # off the event loop
        claim = await to_thread.run_sync(self._claim, mail, fetched.received_at)
        if claim.state == OPENING:
            claim = await self._open(claim, mail)
        elif claim.state == THREADING and claim.trusted_thread:
            if await to_thread.run_sync(self._waiting, claim.ticket_number):
                digest = hashlib.sha256(mail.message_id.encode()).hexdigest()[:40]
                await self.tickets.resume(claim.ticket_number, claim.reporter_ref or MAIL_ACTOR, f"mail-{digest}")
        state = claim.state
        if state in DONE:
            state = await to_thread.run_sync(self._record, claim, mail)
        processed = state in (TICKET, THREADED)
        folder = self.settings.mail_processed_folder if processed else self.settings.mail_rejected_folder
        async with lock:
            await to_thread.run_sync(source.move, key, folder)
        return state

    async def _open(self, claim: Claim, mail: ParsedMail) -> Claim:
        """Start the ticket. Its workflow existing already is this mail's ticket when the claim is older than
        this attempt (a crash after the start); a number just allocated whose workflow exists (a restored
        database) is skipped for the next one, as POST /tickets does."""
        for _ in range(ALLOCATION_ATTEMPTS):
            start = await to_thread.run_sync(self._start_of, claim, mail)
            if await self.tickets.open(start) or not claim.fresh:
                return claim
            claim = await to_thread.run_sync(self._renumber, claim, mail)
        raise RuntimeError(f"no free ticket number for mail {mail.message_id}")

    def _renumber(self, claim: Claim, mail: ParsedMail) -> Claim:
        year = claim.received_at.astimezone(default_calendar().tz).year
        number = next_number(self.sessions, "T", year)
        with self.sessions.begin() as s:
            row = s.scalar(select(InboundMail).where(InboundMail.message_id == mail.message_id))
            row.ticket_number = number
        return replace(claim, ticket_number=number)

    # --- database steps (worker threads, one transaction each) ----------------------------------------------
    def _claim(self, mail: ParsedMail, server_received: datetime | None) -> Claim:
        now = self.now()
        # TK-5: reported when the mail arrived (server time, else its Received/Date header), never later than now
        received = min(server_received or mail.received_at or mail.sent_at or now, now)
        with self.sessions() as s:
            row = s.scalar(select(InboundMail).where(InboundMail.message_id == mail.message_id))
            if row is not None:
                return self._claim_of(s, row, mail)
            person = _person_of(s, mail.sender)
            state, number, reason = REJECTED, None, mail.refused
            if reason is None and mail.loop is not None:
                state, reason = IGNORED, mail.loop
            elif reason is None:
                number = ticket_of_thread(s, mail.thread_ids()) or _tagged_ticket(s, mail.subject)
                state = THREADING if number else OPENING
        if state == OPENING:
            year = received.astimezone(default_calendar().tz).year
            number = next_number(self.sessions, "T", year)  # its own transaction; a crash leaves a gap only
        with self.sessions() as s:
            row = InboundMail(message_id=mail.message_id, sender=mail.sender, subject=mail.subject[:250],
                              received_at=received, state=state, ticket_number=number, size=mail.size,
                              reporter_ref=person.employee_ref if person else None, reason=reason,
                              processed_at=None if state in DONE else now)
            s.add(row)
            try:
                s.commit()
            except IntegrityError:  # another poll claimed it first: its claim stands
                s.rollback()
                row = s.scalar(select(InboundMail).where(InboundMail.message_id == mail.message_id))
                return self._claim_of(s, row, mail)
            return replace(self._claim_of(s, row, mail), fresh=True)

    def _claim_of(self, s: Session, row: InboundMail, mail: ParsedMail) -> Claim:
        trusted = True
        if row.state in (THREADING, THREADED) and not ticket_of_thread(s, mail.thread_ids()):
            ticket = s.get(Ticket, row.ticket_number)  # a tag anyone can type: trusted from the reporter only
            trusted = ticket is not None and row.reporter_ref is not None and row.reporter_ref == ticket.reporter_ref
        return Claim(row.state, row.ticket_number, row.reporter_ref, row.received_at, trusted)

    def _start_of(self, claim: Claim, mail: ParsedMail) -> TicketStart:
        """TK-2: a 1st-line ticket; the sender's unit from the people register, else the triage unit."""
        with self.sessions() as s:
            person = s.get(Person, claim.reporter_ref) if claim.reporter_ref else None
            on = claim.received_at.astimezone(default_calendar().tz).date()
            try:
                hours = framework_in_force(s, on).parameters.hours()  # rule GV-2: in force on the report date
            except LookupError:
                hours = FrameworkParameters(price_list_year=on.year).hours()
        body = mail.body if len(mail.body) <= DESCRIPTION_MAX else mail.body[:DESCRIPTION_MAX - 1] + "…"
        report = TicketReport(number=claim.ticket_number, unit_id=(person.unit_id if person and person.unit_id
                                                                  else self.settings.mail_default_unit),
                              reporter_ref=claim.reporter_ref or UNKNOWN_SENDER, title=mail.title,
                              description=body or None, reported_at=claim.received_at)
        return ticket_start(report, MAIL_ACTOR, self.settings, hours)

    def _waiting(self, number: str) -> bool:
        with self.sessions() as s:
            ticket = s.get(Ticket, number)
            return ticket is not None and ticket.state == WAITING

    def _record(self, claim: Claim, mail: ParsedMail) -> str:
        """The mail and its attachments in the ticket's conversation, and the claim done: one transaction.
        Two messages of one ticket written at once can draw the same seq: the later one is written again."""
        for attempt in range(SEQ_ATTEMPTS):
            try:
                return self._record_once(claim, mail)
            except IntegrityError:
                if attempt == SEQ_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _record_once(self, claim: Claim, mail: ParsedMail) -> str:
        number = claim.ticket_number
        assert number is not None
        with self.sessions.begin() as s:
            if not has_mail(s, number, mail.message_id):
                message = add_message(s, number, at=claim.received_at, author=claim.reporter_ref or mail.sender or "",
                                      direction=IN, body=mail.body, visible_to_reporter=claim.trusted_thread,
                                      message_id=mail.message_id, in_reply_to=mail.in_reply_to)
                for attachment in mail.attachments:
                    add_attachment(s, message, attachment.filename, attachment.content_type, attachment.content,
                                   self.settings.mail_attachment_dir)
            row = s.scalar(select(InboundMail).where(InboundMail.message_id == mail.message_id))
            row.state, row.processed_at = DONE[claim.state], self.now()
            return row.state


def _person_of(s: Session, address: str | None) -> Person | None:
    """TK-2: the reporter is the person whose address sent the mail (people register); None: unknown."""
    if not address:
        return None
    people = list(s.scalars(select(Person).where(func.lower(Person.email) == address.lower())
                            .order_by(Person.active.desc(), Person.employee_ref).limit(1)))
    return people[0] if people else None


def _tagged_ticket(s: Session, subject: str) -> str | None:
    number = tagged_number(subject)
    if number is None:
        return None
    known = s.get(Ticket, number) is not None or s.scalar(
        select(InboundMail.id).where(InboundMail.ticket_number == number).limit(1)) is not None
    return number if known else None


class MailboxActivities:
    """Holds the Temporal client (it starts ticket workflows) and the source factory (the seam)."""

    def __init__(self, client: Client, sessions: sessionmaker[Session], settings: Settings,
                 source: Callable[[Settings], MailSource | None] = source_from) -> None:
        self.intake = MailIntake(sessions, settings, TemporalTickets(client, settings))
        self.settings, self.source = settings, source

    @POLL_MAILBOX.defn
    async def poll(self, request: MailPollRequest) -> MailPollReport:
        source = await to_thread.run_sync(self.source, self.settings)
        if source is None:
            return MailPollReport()
        try:
            return await self.intake.poll(source, request.limit,
                                         activity.heartbeat if activity.in_activity() else lambda *a: None)
        finally:
            await to_thread.run_sync(source.close)

    def all(self) -> list:
        return [self.poll]
