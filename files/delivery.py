"""Handing a file to a receiving system (issue 25): to a directory or over SFTP (`asyncssh`), chosen per system
by FILE_DELIVERY_TARGETS. Idempotent by name and checksum: a file already there with the same SHA-256 is a
success (a retried delivery), one with another checksum is a conflict that is never overwritten. A file is
written under a temporary name and renamed, so the receiver never reads half a file.

`record_file` stores the bytes and their SHA-256 (the receipt's first half, `file_deliveries`); the delivery
activity (activities/file_delivery.py) writes the second half: where, when, after how many attempts."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.file_models import FileDelivery

SYSTEMS = ("economy", "payroll", "ordering")  # the receiving systems (docs/payroll-ordering-files.md)
SAFE_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class DeliveryConflict(Exception):
    """A file of the same name but another checksum is already at the destination (never overwritten)."""


class DeliveryConfigError(Exception):
    """The receiving system's destination is not configured (or not usable): names the setting."""


class FileConflict(Exception):
    """Ramflow already made a different file under this name for this system."""


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def check_name(name: str) -> str:
    """A plain file name: no directories, no hidden files, only characters every receiver takes."""
    if not name or name.startswith(".") or not set(name) <= SAFE_NAME or len(name) > 200:
        raise ValueError(f"file_name: {name!r} is not a plain file name (A-Z a-z 0-9 - _ .)")
    return name


@dataclass(frozen=True)
class Target:
    """Where one receiving system takes its files."""

    kind: str  # "dir" or "sftp"
    path: str
    host: str = ""
    port: int = 22
    username: str = ""

    @property
    def display(self) -> str:
        """The destination as the receipt shows it (never a credential)."""
        if self.kind == "dir":
            return f"dir:{self.path}"
        return f"sftp://{self.username}@{self.host}:{self.port}{self.path}"


def target_for(system: str, targets: dict[str, str]) -> Target:
    """The system's target from FILE_DELIVERY_TARGETS; a missing or bad entry names the setting."""
    raw = targets.get(system)
    if not raw:
        raise DeliveryConfigError(f"FILE_DELIVERY_TARGETS: no destination for {system!r}")
    if not raw.startswith("sftp://"):
        return Target("dir", raw[len("file://"):] if raw.startswith("file://") else raw)
    url = urlsplit(raw)
    if not url.hostname or not url.username:
        raise DeliveryConfigError(f"FILE_DELIVERY_TARGETS[{system}]: an sftp:// target needs user@host")
    if url.password:
        raise DeliveryConfigError(f"FILE_DELIVERY_TARGETS[{system}]: no password in the URL (use a key file)")
    return Target("sftp", unquote(url.path) or "/", url.hostname, url.port or 22, unquote(url.username))


def record_file(session: Session, *, system: str, kind: str, name: str, content: bytes, media_type: str,
                actor: str, at: datetime, municipality: str | None = None, period: str | None = None) -> FileDelivery:
    """Store a file for delivery once per (system, name): the same bytes again return the stored row (an export
    repeated gives the identical file); other bytes under the same name are a FileConflict."""
    if system not in SYSTEMS:
        raise ValueError(f"system: {system!r} is not one of {', '.join(SYSTEMS)}")
    check_name(name)
    digest = sha256(content)
    existing = session.scalar(select(FileDelivery).where(FileDelivery.system == system,
                                                         FileDelivery.file_name == name))
    if existing is not None:
        if existing.sha256 != digest:
            raise FileConflict(f"file_name: {name!r} was made before with another content (SHA-256 "
                               f"{existing.sha256[:12]}…); a changed file needs a new name")
        return existing
    row = FileDelivery(system=system, kind=kind, file_name=name, sha256=digest, size=len(content), content=content,
                       media_type=media_type, municipality=municipality, period=period, created_by=actor,
                       created_at=at, state="pending", attempts=0)
    session.add(row)
    session.flush()
    return row


# --- the transports -------------------------------------------------------------------------------------------
def deliver_to_directory(directory: str, name: str, content: bytes) -> str:
    """Write `name` into `directory` (created if missing); the outcome: "delivered" or "already there"."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / check_name(name)
    if final.exists():
        return _same_or_conflict(final.read_bytes(), content, str(final))
    part = folder / f".{name}.part"
    part.write_bytes(content)
    with open(part, "rb") as handle:
        os.fsync(handle.fileno())
    if final.exists():  # another attempt finished meanwhile
        part.unlink(missing_ok=True)
        return _same_or_conflict(final.read_bytes(), content, str(final))
    os.replace(part, final)
    return "delivered"


async def deliver_over_sftp(target: Target, name: str, content: bytes, *, client_key: str | None,
                            known_hosts: str | None, timeout: float = 30.0) -> str:
    """Put `name` into the target directory over SFTP, idempotently (see the module docstring)."""
    import asyncssh

    if not known_hosts:
        raise DeliveryConfigError("FILE_DELIVERY_KNOWN_HOSTS: an SFTP delivery needs the server's host key")
    options = dict(username=target.username, known_hosts=known_hosts, connect_timeout=timeout,
                   client_keys=[client_key] if client_key else None, agent_path=None, password=None)
    remote = f"{target.path.rstrip('/')}/{check_name(name)}"
    async with asyncssh.connect(target.host, target.port, **options) as conn, conn.start_sftp_client() as sftp:
        if await sftp.exists(remote):
            return _same_or_conflict(await _read(sftp, remote), content, remote)
        part = f"{target.path.rstrip('/')}/.{name}.part"
        async with sftp.open(part, "wb") as handle:
            await handle.write(content)
        if await sftp.exists(remote):
            await sftp.remove(part)
            return _same_or_conflict(await _read(sftp, remote), content, remote)
        await sftp.rename(part, remote)
        return "delivered"


async def deliver(target: Target, name: str, content: bytes, *, client_key: str | None = None,
                  known_hosts: str | None = None) -> str:
    if target.kind == "dir":
        return deliver_to_directory(target.path, name, content)
    return await deliver_over_sftp(target, name, content, client_key=client_key, known_hosts=known_hosts)


async def _read(sftp, path: str) -> bytes:  # noqa: ANN001
    async with sftp.open(path, "rb") as handle:
        return await handle.read()


def _same_or_conflict(there: bytes, content: bytes, where: str) -> str:
    if sha256(there) == sha256(content):
        return "already there"
    raise DeliveryConflict(f"{where}: a different file of this name is already there (SHA-256 "
                           f"{sha256(there)[:12]}…, ours {sha256(content)[:12]}…); it is not overwritten")
