"""Anchors of the audit chains outside the database (issue 20).

A hash chain proves that no row inside it was altered, but not that its end is still there: deleting the
last rows of a chain (or a whole chain), or editing rows and recomputing every hash after them, leaves a
chain that verifies. A checkpoint — every chain's length and head hash, signed with HMAC-SHA256 under a key
from the settings (AUDIT_ANCHOR_KEY, held by the API and the worker, not by the database's owner) — is
written to a separate append-only store (AUDIT_ANCHOR_DIR, one JSON file per checkpoint, never
overwritten). `verify_against_anchor` compares the database with the newest checkpoint: a chain that is
gone, shorter than anchored, or whose row at the anchored length has another hash is reported broken.
Rows appended after the newest checkpoint are covered by the next one (the schedule's interval)."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.audit_chain import AUDIT_LOGS
from db.audit_models import HistoryArchive, RefusedAttempt

FORMAT = "ramflow-audit-anchor/1"
ChainId = tuple[str, str | None]  # (table, process key); the key is None for the id-ordered chains


def _walk(session: Session, wanted: dict[ChainId, int]) -> tuple[dict[ChainId, tuple[int, str]], dict[ChainId, str]]:
    """Every chain's (length, head hash), and the hash of the row at each `wanted` position (1-based), in
    one streaming pass per table."""
    heads: dict[ChainId, tuple[int, str]] = {}
    found: dict[ChainId, str] = {}

    def visit(chain: ChainId, digest: str) -> None:
        length = heads.get(chain, (0, ""))[0] + 1
        heads[chain] = (length, digest)
        if wanted.get(chain) == length:
            found[chain] = digest

    for model, key_column in AUDIT_LOGS.items():
        key = getattr(model, key_column)
        table = model.__tablename__
        for process_key, digest in session.execute(
                select(key, model.hash).order_by(key, model.seq).execution_options(yield_per=5000)):
            visit((table, str(process_key)), digest)
    for model in (HistoryArchive, RefusedAttempt):
        table = model.__tablename__
        for digest in session.scalars(select(model.hash).order_by(model.id).execution_options(yield_per=5000)):
            visit((table, None), digest)
    return heads, found


def chain_heads(session: Session) -> list[dict[str, Any]]:
    """Every chain: table, key, length and head hash (sorted: the checkpoint's canonical order)."""
    heads, _ = _walk(session, {})
    return [{"table": table, "key": key, "length": length, "head": head}
            for (table, key), (length, head) in sorted(heads.items(), key=lambda item: (item[0][0], item[0][1] or ""))]


def _signature(key: bytes, body: dict[str, Any]) -> str:
    unsigned = {name: value for name, value in body.items() if name != "signature"}
    message = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """Names the key without revealing it (a checkpoint signed under an old key says which)."""
    return hashlib.sha256(b"ramflow-audit-anchor/" + key).hexdigest()[:16]


@dataclass(frozen=True)
class AnchorStore:
    """The checkpoints: one JSON file each in `directory`, created exclusively and made read-only."""

    directory: Path
    key: bytes

    @classmethod
    def from_settings(cls, settings: Any) -> "AnchorStore | None":
        secret = getattr(settings, "audit_anchor_key", None)
        if secret is None:
            return None
        return cls(Path(settings.audit_anchor_dir), secret.get_secret_value().encode())

    def write(self, session: Session, now: datetime | None = None) -> Path:
        """A signed checkpoint of every chain's head and length, as a new file."""
        at = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        body: dict[str, Any] = {"format": FORMAT, "at": at.isoformat(), "key_id": key_id(self.key),
                                "chains": chain_heads(session)}
        body["signature"] = _signature(self.key, body)
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"anchor-{at:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}.json"
        with open(path, "x", encoding="utf-8") as out:  # never overwrites an earlier checkpoint
            json.dump(body, out, ensure_ascii=False, indent=1)
        os.chmod(path, 0o444)
        return path

    def files(self) -> list[Path]:
        """Newest first (the names begin with the UTC instant)."""
        return sorted(self.directory.glob("anchor-*.json"), reverse=True) if self.directory.is_dir() else []

    def read(self, path: Path) -> dict[str, Any] | None:
        """The checkpoint, or None when it is not one this key signed (altered, forged, unreadable)."""
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(body, dict) or body.get("format") != FORMAT or not isinstance(body.get("chains"), list):
            return None
        given = body.get("signature")
        return body if isinstance(given, str) and hmac.compare_digest(given, _signature(self.key, body)) else None


def verify_against_anchor(session: Session, store: AnchorStore | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(what was checked, broken chains) against the newest validly signed checkpoint. A newer file that
    is not validly signed is itself reported."""
    if store is None:
        return {"configured": False}, []
    broken: list[dict[str, Any]] = []
    anchor, used = None, None
    for path in store.files():
        anchor = store.read(path)
        if anchor is not None:
            used = path
            break
        broken.append({"chain": "anchor", "key": path.name, "id": None,
                       "problem": "the checkpoint's signature does not verify (altered or forged)"})
    if anchor is None:
        return {"configured": True, "file": None, "problem": "no signed checkpoint yet"}, broken
    wanted = {(c["table"], c["key"]): int(c["length"]) for c in anchor["chains"]}
    heads, found = _walk(session, wanted)
    for chain in anchor["chains"]:
        chain_id = (chain["table"], chain["key"])
        length = heads.get(chain_id, (0, ""))[0]
        anchored = {"length": chain["length"], "head": chain["head"]}
        problem = None
        if length == 0:
            problem = "the chain is gone (deleted since the checkpoint)"
        elif length < chain["length"]:
            problem = f"the chain is shorter than at the checkpoint ({length} < {chain['length']} rows: truncated)"
        elif found.get(chain_id) != chain["head"]:
            problem = "the row at the checkpoint's length is not the anchored head (rows altered and rechained)"
        if problem is not None:
            broken.append({"chain": chain["table"], "key": chain["key"], "id": None, "problem": problem,
                           "anchored": anchored, "found": {"length": length, "head": found.get(chain_id)}})
    return {"configured": True, "file": used.name, "at": anchor["at"], "chains": len(anchor["chains"])}, broken
