"""Where support mail is read (issue 21, "In"): production reads the shared Exchange Online mailbox over
IMAP with XOAUTH2 (an app with IMAP.AccessAsApp, token by msal client credentials); development reads the
Maildir the local SMTP server delivers to. Both list, fetch (without marking seen) and move a mail; a
moved mail is done, so the inbox holds exactly what is still to be read (docs/mail.md)."""
from __future__ import annotations

import imaplib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol, TypeVar

from config import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class FetchedMail:
    raw: bytes  # the whole mail, or only its header when it is larger than the limit
    size: int
    received_at: datetime | None  # the server's arrival time (IMAP INTERNALDATE, Maildir delivery time)


class MailSource(Protocol):
    def keys(self) -> list[str]: ...
    def fetch(self, key: str, max_bytes: int) -> FetchedMail: ...
    def move(self, key: str, folder: str) -> None: ...
    def close(self) -> None: ...


# --- development: a Maildir ---------------------------------------------------------------------------------
class MaildirSource:
    """A Maildir (new/ and cur/); folders Maildir++ style (`Ramflow/Behandlat` → `.Ramflow.Behandlat`)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        for sub in ("new", "cur", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / key

    def keys(self) -> list[str]:
        found = [(p.stat().st_mtime, f"{sub}/{p.name}") for sub in ("new", "cur")
                 for p in (self.root / sub).iterdir() if p.is_file() and not p.name.startswith(".")]
        return [key for _, key in sorted(found)]

    def fetch(self, key: str, max_bytes: int) -> FetchedMail:
        path = self._path(key)
        size = path.stat().st_size
        delivered = _maildir_time(path.name) or path.stat().st_mtime
        with path.open("rb") as file:
            raw = file.read() if size <= max_bytes else _header_of(file)
        return FetchedMail(raw, size, datetime.fromtimestamp(delivered, timezone.utc))

    def move(self, key: str, folder: str) -> None:
        target = self.root / ("." + folder.replace("/", ".")) / "cur"
        target.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(key), target / Path(key).name)  # atomic within the file system

    def close(self) -> None:
        pass


def _maildir_time(name: str) -> float | None:
    head = name.split(".", 1)[0]
    return float(head) if head.isdigit() else None


def _header_of(file) -> bytes:  # noqa: ANN001
    header = b""
    for line in file:
        header += line
        if line in (b"\r\n", b"\n") or len(header) > 256_000:
            break
    return header


def deliver_to_maildir(root: str | Path, raw: bytes) -> str:
    """Deliver one mail the Maildir way (tmp/ then rename into new/): for the dev SMTP server and tests."""
    root = Path(root)
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    name = f"{int(time.time())}.{time.monotonic_ns()}_{os.getpid()}.ramflow"
    (root / "tmp" / name).write_bytes(raw)
    os.replace(root / "tmp" / name, root / "new" / name)
    return f"new/{name}"


# --- production: IMAP (Exchange Online with XOAUTH2; Dovecot in the tests) -------------------------------------
class ImapSource:
    """An IMAP mailbox by UID. `connect` returns a logged-in imap_tools mailbox on INBOX (the seam: XOAUTH2
    in production, a password against the tests' Dovecot). A dropped connection (Exchange Online closes idle
    or throttled ones) is opened again once per call; UIDs stay valid across connections."""

    def __init__(self, connect: Callable[[], object]) -> None:
        self.connect = connect
        self.box = connect()
        self.folders: set[str] = set()

    def _again(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except (imaplib.IMAP4.abort, OSError):
            self.close()
            self.box = self.connect()
            return call()

    def keys(self) -> list[str]:
        return self._again(lambda: list(self.box.uids("ALL")))  # type: ignore[attr-defined]

    def fetch(self, key: str, max_bytes: int) -> FetchedMail:
        return self._again(lambda: self._fetch(key, max_bytes))

    def _fetch(self, key: str, max_bytes: int) -> FetchedMail:
        client: imaplib.IMAP4 = self.box.client  # type: ignore[attr-defined]
        status, data = client.uid("FETCH", key, "(INTERNALDATE RFC822.SIZE)")
        meta = next((d for d in data if isinstance(d, bytes)), b"")
        size = int(meta.split(b"RFC822.SIZE ")[1].split(b")")[0].split()[0]) if b"RFC822.SIZE" in meta else 0
        parts = imaplib.Internaldate2tuple(meta) if b"INTERNALDATE" in meta else None
        received = datetime.fromtimestamp(time.mktime(parts), timezone.utc) if parts else None
        section = "BODY.PEEK[]" if size <= max_bytes else "BODY.PEEK[HEADER]"
        status, data = client.uid("FETCH", key, f"({section})")
        raw = next((d[1] for d in data if isinstance(d, tuple)), b"")
        if status != "OK" or not raw:
            raise LookupError(f"IMAP FETCH {key}: {status}, no message (moved by another reader?)")
        return FetchedMail(raw, size or len(raw), received)

    def move(self, key: str, folder: str) -> None:
        self._again(lambda: self._move(key, folder))

    def _move(self, key: str, folder: str) -> None:
        if folder not in self.folders:
            if not self.box.folder.exists(folder):  # type: ignore[attr-defined]
                self.box.folder.create(folder)  # type: ignore[attr-defined]
            self.folders.add(folder)
        self.box.move(key, folder)  # type: ignore[attr-defined]

    def close(self) -> None:
        try:
            self.box.logout()  # type: ignore[attr-defined]
        except (OSError, imaplib.IMAP4.error):
            pass


IMAP_SCOPE = "https://outlook.office365.com/.default"  # Exchange Online's IMAP.AccessAsApp


def exchange_token(settings: Settings) -> str:
    """An app-only token for IMAP.AccessAsApp: the outbound half's msal client-credentials provider
    (mail/transport.py) with the IMAP scope; the app's service principal has FullAccess to the shared
    mailbox in Exchange Online (docs/mail.md)."""
    from mail.transport import TokenProvider

    return TokenProvider(settings, IMAP_SCOPE).token()


def source_from(settings: Settings, token: Callable[[Settings], str] = exchange_token) -> MailSource | None:
    """The configured source: the Maildir, Exchange Online over IMAP (XOAUTH2), or none."""
    if settings.mail_in_source == "maildir":
        return MaildirSource(settings.mail_support_maildir)
    if settings.mail_in_source == "imap":
        from imap_tools import MailBox

        return ImapSource(lambda: MailBox(settings.mail_imap_host, settings.mail_imap_port).xoauth2(
            settings.mail_imap_user or settings.mail_support_address, token(settings)))
    return None
