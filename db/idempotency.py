"""Idempotency keys of creating POSTs whose number the server allocates (tickets, service requests,
incidents, proposals): a retried request with the same `Idempotency-Key` answers the same resource and
never creates a second process (issue 7). Keys are the caller's own (issue 20): the same key from another
caller is another key, never their resource nor a refusal that reveals it was used."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from db.models import Base, UTCDateTime


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)  # e.g. "tickets"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # scoped_key(caller, the header's key)
    request_hash: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(80))  # the allocated number or id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class KeyReused(ValueError):
    """The key was used before with another request (the API answers 422)."""


def scoped_key(caller: str, key: str) -> str:
    """The stored form of a caller's `Idempotency-Key`: a digest of both, so keys of different callers never meet."""
    return hashlib.sha256(json.dumps([caller, key]).encode()).hexdigest()


def request_hash(actor: str, body: object) -> str:
    return hashlib.sha256(json.dumps([actor, body], sort_keys=True, default=str).encode()).hexdigest()


def claim(session: Session, scope: str, key: str, digest: str, allocate: Callable[[Session], str],
          caller: str) -> tuple[str, bool]:
    """The resource of `caller`'s key: (allocated now: True) or (allocated by an earlier request: False).
    `allocate` may commit (a number counter); the key row is committed last, and a concurrent request with
    the same key that wins the insert decides the resource."""
    header_key, key = key, scoped_key(caller, key)
    existing = session.get(IdempotencyKey, (scope, key))
    if existing is None:
        resource = allocate(session)
        try:
            session.add(IdempotencyKey(scope=scope, key=key, request_hash=digest, resource=resource,
                                       created_at=datetime.now(timezone.utc)))
            session.commit()
            return resource, True
        except IntegrityError:
            session.rollback()
            existing = session.get(IdempotencyKey, (scope, key))
            assert existing is not None
    if existing.request_hash != digest:
        raise KeyReused(f"Idempotency-Key: {header_key!r} was used for another request")
    return existing.resource, False
