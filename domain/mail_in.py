"""Mail to the support mailbox (issue 21, "In"), pure: parse a mail, recognise loop-prone mail (RFC 3834),
find the ticket a reply belongs to (its tag), strip quoted text, and refuse what is kept aside (size,
attachment types). No I/O: the sources and the intake are in activities/mailbox.py."""
from __future__ import annotations

import hashlib
import html
import re
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from pydantic import BaseModel, Field

TICKET_TAG = re.compile(r"\[(?:Ärende|Arende|Ticket)[\s#:]*([A-Z0-9][A-Z0-9-]{2,39})\]", re.IGNORECASE)
REPLY_PREFIX = re.compile(r"^\s*((SV|RE|VB|FW|FWD|AW|VS|Antw)\s*:\s*)+", re.IGNORECASE)
UNKNOWN_SENDER = "unknown-sender"  # reporter_ref of a ticket whose sender is not in the people register (TK-2)
TITLE_MAX, DESCRIPTION_MAX = 200, 4000  # TicketReport's limits
BOUNCE_SENDERS = ("mailer-daemon", "postmaster")


def ticket_tag(number: str) -> str:
    """The tag Ramflow's mail carries in its subject; a reply keeps it (issue 21, threading)."""
    return f"[Ärende {number}]"


def tagged_number(subject: str | None) -> str | None:
    match = TICKET_TAG.search(subject or "")
    return match.group(1).upper() if match else None


class MailLimits(BaseModel):
    """What the mailbox accepts (Settings: mail_max_bytes, mail_attachment_max_bytes, mail_attachment_types)."""

    max_bytes: int = 25_000_000
    attachment_max_bytes: int = 10_000_000
    attachment_types: tuple[str, ...] = ("image/*", "application/pdf", "text/plain")

    def allows(self, content_type: str) -> bool:
        kind = content_type.lower()
        return any(kind == t or (t.endswith("/*") and kind.startswith(t[:-1])) for t in self.attachment_types)


class Attachment(BaseModel):
    filename: str
    content_type: str
    content: bytes = Field(repr=False)

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


class ParsedMail(BaseModel):
    """A mail as the intake needs it. `refused`: kept aside with this reason (issue 21, bad input);
    `loop`: an auto-reply, bounce or list mail, recorded and never answered (RFC 3834)."""

    message_id: str
    sender: str | None = None
    subject: str = ""
    body: str = ""
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    sent_at: datetime | None = None  # the Date header
    received_at: datetime | None = None  # the topmost Received header
    attachments: list[Attachment] = Field(default_factory=list)
    size: int = 0
    refused: str | None = None
    loop: str | None = None

    @property
    def title(self) -> str:
        """The ticket title: the subject without reply prefixes (TK-2)."""
        title = " ".join(REPLY_PREFIX.sub("", self.subject).split())
        return (title or "(inget ämne)")[:TITLE_MAX]

    def thread_ids(self) -> list[str]:
        """The Message-IDs this mail answers, nearest first."""
        return ([self.in_reply_to] if self.in_reply_to else []) + [r for r in reversed(self.references)
                                                                   if r != self.in_reply_to]


def synthetic_message_id(raw: bytes) -> str:
    """A mail without a Message-ID is known by its content: the same mail read twice is one mail."""
    return f"<{hashlib.sha256(raw).hexdigest()}@ramflow.invalid>"


def _ids(value: str | None) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


def _instant(value: str | None) -> datetime | None:
    try:
        at = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if at is None:
        return None
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at


def loop_reason(msg: EmailMessage, sender: str | None) -> str | None:
    """Rule of issue 21 (no mail loops): auto-replies, bounces and list traffic are never answered."""
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto} (RFC 3834)"
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for header in ("List-Id", "List-Unsubscribe", "X-Auto-Response-Suppress", "X-Autoreply", "X-Autorespond"):
        if msg.get(header) is not None:
            return f"{header} (automatic or list mail)"
    if not sender or sender.split("@")[0] in BOUNCE_SENDERS:
        return f"bounce: sender {sender or '<>'}"
    if msg.get_content_type() == "multipart/report":
        return "bounce: a delivery report (multipart/report)"
    return None


def _html_text(markup: str) -> str:
    text = re.sub(r"(?is)<(script|style).*?</\1>", "", markup)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>|</h\d>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _body_and_attachments(msg: EmailMessage) -> tuple[str, list[Attachment]]:
    body_part = msg.get_body(preferencelist=("plain", "html"))
    attachments: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart() or part is body_part:
            continue
        filename = part.get_filename()
        if filename is None and part.get_content_maintype() == "text":
            continue  # an alternative of the body
        content = part.get_payload(decode=True) or b""
        attachments.append(Attachment(filename=filename or f"bilaga-{len(attachments) + 1}",
                                      content_type=part.get_content_type(), content=content))
    if body_part is None:
        return "", attachments
    text = body_part.get_content()
    return (_html_text(text) if body_part.get_content_subtype() == "html" else text), attachments


# a MIME structure Ramflow cannot take apart reliably (minor header defects are common and tolerated)
STRUCTURE_DEFECTS = ("NoBoundaryInMultipartDefect", "StartBoundaryNotFoundDefect",
                     "MultipartInvariantViolationDefect", "MisplacedEnvelopeHeaderDefect")


def _structure_defect(msg: EmailMessage) -> str | None:
    if not msg.keys():
        return "no header at all"
    for part in msg.walk():
        for defect in part.defects:
            if type(defect).__name__ in STRUCTURE_DEFECTS:
                return f"{type(defect).__name__} in {part.get_content_type()}"
    return None


def parse_mail(raw: bytes, limits: MailLimits, size: int | None = None) -> ParsedMail:
    """The mail, or what is wrong with it (`refused`); never raises for bad input."""
    size = len(raw) if size is None else size
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        message_id = (_ids(str(msg.get("Message-ID", ""))) or [synthetic_message_id(raw)])[0][:250]
        senders = getaddresses([str(msg.get("From", ""))])
        sender = senders[0][1].strip().lower() or None if senders else None
        mail = ParsedMail(message_id=message_id, sender=sender, subject=str(msg.get("Subject", "")).strip(),
                          in_reply_to=(_ids(str(msg.get("In-Reply-To", ""))) or [None])[0],
                          references=_ids(str(msg.get("References", ""))), sent_at=_instant(msg.get("Date")),
                          received_at=_instant(str(msg.get("Received", "")).rpartition(";")[2].strip()), size=size)
        if broken := _structure_defect(msg):
            mail.refused = f"unparseable: {broken}"
            return mail
        mail.loop = loop_reason(msg, sender)
        if size > limits.max_bytes:
            mail.refused = f"mail_max_bytes: {size} bytes, more than {limits.max_bytes}"
            return mail
        mail.body, mail.attachments = _body_and_attachments(msg)
    except Exception as error:  # noqa: BLE001 - any defect of a mail keeps it aside, never the mailbox
        return ParsedMail(message_id=synthetic_message_id(raw), size=size,
                          refused=f"unparseable: {type(error).__name__}: {error}"[:500])
    mail.body = strip_quoted(mail.body)
    for attachment in mail.attachments:
        if not limits.allows(attachment.content_type):
            mail.refused = (f"mail_attachment_types: {attachment.filename!r} is {attachment.content_type}, "
                            f"not allowed ({', '.join(limits.attachment_types)})")
        elif attachment.size > limits.attachment_max_bytes:
            mail.refused = (f"mail_attachment_max_bytes: {attachment.filename!r} is {attachment.size} bytes, "
                            f"more than {limits.attachment_max_bytes}")
    return mail


# --- quoted text -------------------------------------------------------------------------------------------
# Where the quoted mail starts, in the clients the municipalities use (Outlook in Swedish and English,
# Gmail, Apple Mail, Thunderbird): the line that introduces it, or Outlook's header block.
QUOTE_HEADER = re.compile(
    r"^\s*(-{2,}\s*(Ursprungligt meddelande|Original Message|Vidarebefordrat meddelande|Forwarded message)\s*-{2,}"
    r"|(Den|On|Am|Le)\s.{4,200}\s(skrev|wrote|schrieb|a écrit)\s*.{0,100}:\s*$"
    r"|_{10,}\s*$)",
    re.IGNORECASE)
OUTLOOK_BLOCK = re.compile(r"^\s*\*?(Från|From)\s*:\*?\s", re.IGNORECASE)
OUTLOOK_NEXT = re.compile(r"^\s*\*?(Skickat|Sent|Datum|Date|Till|To|Ämne|Subject)\s*:", re.IGNORECASE)


def strip_quoted(text: str) -> str:
    """The new text of a reply: everything before the quoted earlier mail (issue 21, threading)."""
    lines = text.replace("\r\n", "\n").split("\n")
    cut = len(lines)
    for index, line in enumerate(lines):
        following = next((ln for ln in lines[index + 1:index + 3] if ln.strip()), "")
        if QUOTE_HEADER.match(line) or (OUTLOOK_BLOCK.match(line) and OUTLOOK_NEXT.match(following)):
            cut = index
            break
        # "On Tue, 8 Dec 2026 Anna <a@b> wrote:" is often wrapped over two lines
        if re.match(r"^\s*(Den|On)\s", line) and re.search(r"(skrev|wrote)\s*:\s*$", following):
            cut = index
            break
    kept = [ln for ln in lines[:cut] if not ln.lstrip().startswith(">")]
    stripped = "\n".join(kept).strip()
    return stripped or text.strip()  # a mail that is all quote keeps its text rather than none


# --- the poll, as the workflow and its activity see it --------------------------------------------------------
class MailPollRequest(BaseModel):
    limit: int | None = Field(None, ge=1, description="at most this many mails per poll; the rest wait for the next")


class MailPollReport(BaseModel):
    """What one poll did, per outcome (InboundMail.state) plus mails that failed and stay in the inbox."""

    ticket: int = 0
    threaded: int = 0
    ignored: int = 0
    rejected: int = 0
    failed: int = 0

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
