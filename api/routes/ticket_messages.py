"""A ticket's conversation (issue 21): the mail that came in, IT's replies to the reporter and IT's internal
notes, with their attachments. Read by exactly those who may read the ticket (api.access.ticket; the
reporter and their unit's manager do not see internal notes), written by IT. A reply to the reporter is
queued in the outbox as a threaded mail (topic `ticket_reply`). Issue 23: the reporter answers on the ticket
(a ticket waiting for them resumes, TK-5), and IT's question with `wait_for_customer` is written here too;
attachments come as base64 in the JSON body (the console turns its multipart form into that)."""
from __future__ import annotations

import base64
import binascii
import secrets
from datetime import datetime, timezone
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import access
from api.bounds import Number
from api.deps import ActorDep, IdempotencyKeyDep, PrincipalDep, ProcessDep, SessionDep
from api.policy import IT_STAFF
from config import Settings
from db.conversation import (add_attachment, add_message, attachment_bytes, attachments_of, has_mail, messages_of,
                             queue_ticket_reply, thread_of)
from db.mail_models import IN, INTERNAL, OUT, InboundMail, TicketAttachment, TicketMessage
from db.ticket_models import Ticket
from domain.mail_in import UNKNOWN_SENDER, MailLimits, ticket_tag
from domain.tickets import TICKET, Resume, TicketCommand, ticket_workflow_id
from mail.message import message_id as mail_message_id

router = APIRouter(tags=["ticket conversation"])
AttachmentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="an attachment of the ticket")]


class AttachmentView(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    model_config = {"from_attributes": True}


class MessageView(BaseModel):
    seq: int
    at: datetime
    author: str
    direction: str = Field(description="in (from the reporter), out (IT to the reporter), internal (IT's note)")
    visible_to_reporter: bool
    body: str
    message_id: str | None
    in_reply_to: str | None
    attachments: list[AttachmentView]


class NewAttachment(BaseModel):
    filename: str = Field(min_length=1, max_length=255, pattern=r"^[^/\\\x00-\x1f]+$")
    content_type: str = Field(min_length=3, max_length=120, pattern=r"^[\w.+-]+/[\w.+-]+$")
    content_base64: str = Field(min_length=1, description="the file, base64 (at most mail_attachment_max_bytes)")


class NewMessage(BaseModel):
    body: str = Field(min_length=1, max_length=20_000)
    to_reporter: bool = Field(False, description="IT: true mails it to the reporter (threaded), false is an "
                                                 "internal note; the reporter's answer is always to IT")
    attachments: list[NewAttachment] = Field([], max_length=5)


Files = list[tuple[NewAttachment, bytes]]


def decoded(attachments: list[NewAttachment], settings: Settings) -> Files:
    """The files, checked as the mailbox checks mail: type and size (422 naming the file)."""
    limits = MailLimits(attachment_types=tuple(settings.mail_attachment_types))
    files = []
    for i, item in enumerate(attachments):
        if not limits.allows(item.content_type):
            raise HTTPException(422, f"attachments.{i}.content_type: {item.filename!r} is {item.content_type}, not "
                                     f"allowed ({', '.join(limits.attachment_types)})")
        if len(item.content_base64) > settings.mail_attachment_max_bytes * 4 // 3 + 4:
            raise HTTPException(422, f"attachments.{i}: {item.filename!r} is larger than "
                                     f"{settings.mail_attachment_max_bytes} bytes")
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise HTTPException(422, f"attachments.{i}.content_base64: not base64") from None
        if not content or len(content) > settings.mail_attachment_max_bytes:
            raise HTTPException(422, f"attachments.{i}: {item.filename!r} is empty or larger than "
                                     f"{settings.mail_attachment_max_bytes} bytes")
        files.append((item, content))
    return files


def _reporter_view(session: Session, principal, number: str) -> bool:  # noqa: ANN001
    """404 for a ticket the caller may not read; True when they see only what the reporter sees."""
    access.ticket(session, principal, number)
    if not access.sees_everything(principal):
        return True
    if session.get(Ticket, number) is None and not messages_of(session, number, False):
        raise HTTPException(404, f"number: no ticket {number!r}")
    return False


def _view(message: TicketMessage, attachments: list[TicketAttachment]) -> MessageView:
    return MessageView(seq=message.seq, at=message.at, author=message.author, direction=message.direction,
                       visible_to_reporter=message.visible_to_reporter, body=message.body,
                       message_id=message.message_id, in_reply_to=message.in_reply_to,
                       attachments=[AttachmentView.model_validate(a) for a in attachments])


@router.get("/tickets/{number}/messages", response_model=list[MessageView], responses={404: {}})
def ticket_messages(number: Number, session: SessionDep, principal: PrincipalDep) -> list[MessageView]:
    """The conversation, oldest first; the reporter and their unit's manager see no internal notes."""
    rows = messages_of(session, number, _reporter_view(session, principal, number))
    attached = attachments_of(session, [m.id for m in rows])
    return [_view(m, attached.get(m.id, [])) for m in rows]


@router.get("/tickets/{number}/attachments/{attachment_id}", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}, 404: {}})
def ticket_attachment(number: Number, attachment_id: AttachmentId, session: SessionDep, principal: PrincipalDep) -> Response:
    """The file as it came, with its SHA-256 (`Repr-Digest`); always a download, never rendered inline."""
    reporter_view = _reporter_view(session, principal, number)
    row = session.get(TicketAttachment, attachment_id)
    message = session.get(TicketMessage, row.message_id) if row is not None else None
    if row is None or row.ticket_number != number or (reporter_view and not message.visible_to_reporter):
        raise HTTPException(404, f"attachment_id: no attachment {attachment_id} on ticket {number!r}")
    digest = base64.b64encode(bytes.fromhex(row.sha256)).decode()
    return Response(attachment_bytes(row), media_type=row.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}",
        "Repr-Digest": f"sha-256=:{digest}:"})


@router.post("/tickets/{number}/messages", status_code=status.HTTP_201_CREATED, response_model=MessageView,
             responses={404: {}, 409: {}, 422: {}})
async def post_ticket_message(number: Number, message: NewMessage, actor: ActorDep, principal: PrincipalDep,
                              path: ProcessDep, idempotency_key: IdempotencyKeyDep) -> MessageView:
    """IT writes on the ticket: an internal note, or a reply mailed to the reporter in the ticket's thread.
    The reporter writes their answer (rule TK-5: a ticket waiting for them resumes, as an answer by mail does)."""
    files = decoded(message.attachments, path.settings)
    if principal.has(IT_STAFF):
        return await path.db(written, lambda s: _write(s, path.settings, number, message, actor, files,
                                                       idempotency_key))
    view, still_open = await path.db(written, lambda s: _answer(s, principal, path.settings, number, message, files,
                                                             idempotency_key))
    if still_open:
        await resume_on_answer(path, number, actor, f"answer-{idempotency_key or secrets.token_hex(8)}")
    return view


async def resume_on_answer(path, number: str, actor: str, update_id: str) -> None:  # noqa: ANN001
    """TK-5: the customer's answer resumes the deadline; a ticket not waiting (IT resumed it meanwhile, or it
    never waited) leaves the answer standing."""
    from workflows.tickets import TicketWorkflow

    command = TicketCommand(actor=actor, reason="kunden svarade i konsolen", action=Resume())
    try:
        await path.apply(ticket_workflow_id(number), TicketWorkflow.apply, command, f"number: no ticket {number!r}",
                         update_id=update_id)
    except HTTPException as error:
        if error.status_code not in (404, 409):
            raise


def written(session: Session, write):  # noqa: ANN001, ANN201
    """`write(session)`, again when a mail arriving at the same moment took the same seq."""
    for attempt in range(3):
        try:
            return write(session)
        except IntegrityError:
            session.rollback()
            if attempt == 2:
                raise HTTPException(409, "number: the ticket is being written; try again") from None
    raise AssertionError("unreachable")


def _attach(session: Session, settings: Settings, row: TicketMessage, files: Files) -> list[TicketAttachment]:
    return [add_attachment(session, row, item.filename, item.content_type, content, settings.mail_attachment_dir)
            for item, content in files]


def _earlier(session: Session, number: str, message_id: str | None) -> MessageView | None:
    """The message a retried request (the same Idempotency-Key) wrote already."""
    row = session.scalar(select(TicketMessage).where(TicketMessage.ticket_number == number,
                                                     TicketMessage.message_id == message_id)) if message_id else None
    return None if row is None else _view(row, attachments_of(session, [row.id]).get(row.id, []))


def _answer(session: Session, principal, settings: Settings, number: str, message: NewMessage,  # noqa: ANN001
            files: Files, key: str | None) -> tuple[MessageView, bool]:
    """The reporter's own answer (404 for anyone else's ticket: its existence is not revealed)."""
    ticket = session.get(Ticket, number)
    if ticket is None or not access.same_person(principal, ticket.reporter_ref):
        raise HTTPException(404, f"number: no ticket {number!r}")
    message_id = mail_message_id(f"ticket-answer:{number}:{key}", settings.mail_domain) if key else None
    if (earlier := _earlier(session, number, message_id)) is not None:
        return earlier, ticket.state not in TICKET.final_states  # a crash before the resume: resume now
    row = add_message(session, number, at=datetime.now(timezone.utc), author=principal.employee_ref,
                      direction=IN, body=message.body, message_id=message_id)
    attached = _attach(session, settings, row, files)
    session.commit()
    # the register may not show `waiting_for_customer` yet (it follows the workflow): the workflow decides
    return _view(row, attached), ticket.state not in TICKET.final_states


def _write(session: Session, settings, number: str, message: NewMessage, actor: str,  # noqa: ANN001
           files: Files, key: str | None) -> MessageView:
    ticket = session.get(Ticket, number)
    if ticket is None:
        raise HTTPException(404, f"number: no ticket {number!r}")
    now = datetime.now(timezone.utc)
    if not message.to_reporter:
        row = add_message(session, number, at=now, author=actor, direction=INTERNAL, body=message.body,
                          visible_to_reporter=False)
        attached = _attach(session, settings, row, files)
        session.commit()
        return _view(row, attached)
    references = thread_of(session, number)
    last_in = session.scalar(select(TicketMessage.message_id).where(
        TicketMessage.ticket_number == number, TicketMessage.direction == IN,
        TicketMessage.message_id.is_not(None)).order_by(TicketMessage.seq.desc()).limit(1))
    key = f"ticket-reply:{number}:{key or secrets.token_hex(8)}"
    message_id = mail_message_id(key, settings.mail_domain)  # the one delivery will send it under
    if (earlier := _earlier(session, number, message_id)) is not None:
        return earlier  # a retried reply is written and mailed once
    row = add_message(session, number, at=now, author=actor, direction=OUT, body=message.body,
                      message_id=message_id, in_reply_to=last_in)
    attached = _attach(session, settings, row, files)
    queue_ticket_reply(session, number=number, key=key, recipient=_recipient(session, ticket), at=now,
                       subject=f"{ticket_tag(number)} {ticket.title}", body=message.body,
                       in_reply_to=last_in or (references[-1] if references else None), references=references)
    session.commit()
    return _view(row, attached)


async def write_question(path, number: str, question: str, actor: str, key: str) -> None:  # noqa: ANN001
    """TK-5: IT's `wait_for_customer` question goes into the conversation, visible to the reporter. The
    workflow mails it (its `waiting_for_customer` notice), so no second mail; once per Idempotency-Key."""
    message_id = mail_message_id(key, path.settings.mail_domain)

    def write(session: Session) -> None:
        if not has_mail(session, number, message_id):
            add_message(session, number, at=datetime.now(timezone.utc), author=actor, direction=OUT, body=question,
                        message_id=message_id)
            session.commit()
    await path.db(written, write)


def _recipient(session: Session, ticket: Ticket) -> str:
    """The reporter (`employee:E5001`); a sender not in the people register by their address (`mail:…`)."""
    if ticket.reporter_ref != UNKNOWN_SENDER:
        return f"employee:{ticket.reporter_ref}"
    sender = session.scalar(select(InboundMail.sender).where(InboundMail.ticket_number == ticket.number,
                                                             InboundMail.sender.is_not(None))
                            .order_by(InboundMail.received_at).limit(1))
    if sender is None:
        raise HTTPException(409, f"number: ticket {ticket.number} has no known reporter to write to")
    return f"mail:{sender}"
