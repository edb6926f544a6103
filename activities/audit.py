"""The auditors' Temporal side (issue 11): archive a run's event history into Ramflow's database, and
register the typed search attributes the workflows upsert; issue 20: write the audit chains' signed checkpoints."""
from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from db.audit_anchor import AnchorStore
from db.audit_chain import append_archive
from db.audit_models import HistoryArchive
from domain.audit import ArchiveRequest, business_key_of
from workflows.search_attributes import ALL_KEYS
from workflows.audit import ANCHOR_CHAINS, ARCHIVE_HISTORY

log = logging.getLogger(__name__)


def _archived(session: Session, workflow_id: str, run_id: str) -> bool:
    return session.scalar(select(HistoryArchive.id).where(
        HistoryArchive.workflow_id == workflow_id, HistoryArchive.run_id == run_id)) is not None


def store_history(sessions: sessionmaker[Session], request: ArchiveRequest, history: WorkflowHistory) -> bool:
    """Append `history` to the archive once per (workflow id, run id); True when it was new."""
    text = history.to_json().encode()
    events = history.events
    with sessions() as s:
        if _archived(s, request.workflow_id, request.run_id):
            return False
        append_archive(
            s, workflow_id=request.workflow_id, run_id=request.run_id, workflow_type=request.workflow_type,
            business_key=business_key_of(request.workflow_id), reason=request.reason,
            first_event_at=events[0].event_time.ToDatetime(tzinfo=timezone.utc),
            last_event_at=events[-1].event_time.ToDatetime(tzinfo=timezone.utc), event_count=len(events),
            history_sha256=hashlib.sha256(text).hexdigest(), history_gz=gzip.compress(text),
            archived_at=datetime.now(timezone.utc))
        try:
            s.commit()
        except IntegrityError:  # the same run archived meanwhile, or another archive took the chain's end
            s.rollback()
            if _archived(s, request.workflow_id, request.run_id):
                return False
            raise  # retried by the activity's policy: the next attempt links to the new end of the chain
    return True


class AuditActivities:
    def __init__(self, client: Client, sessions: sessionmaker[Session], settings: Any = None) -> None:
        self.client = client
        self.sessions = sessions
        self.anchors = AnchorStore.from_settings(settings) if settings is not None else None

    @ARCHIVE_HISTORY.defn
    async def archive_history(self, request: ArchiveRequest) -> bool:
        """Idempotent: a retry, or a second archive of the same run, adds nothing. The history is read
        while the run still waits for this activity: it ends with this activity's scheduling, which
        replays like any running workflow's history."""
        if await asyncio.to_thread(self._is_archived, request):
            return False
        handle = self.client.get_workflow_handle(request.workflow_id, run_id=request.run_id)
        history = await handle.fetch_history()
        return await asyncio.to_thread(store_history, self.sessions, request, history)

    def _is_archived(self, request: ArchiveRequest) -> bool:
        with self.sessions() as s:
            return _archived(s, request.workflow_id, request.run_id)

    @ANCHOR_CHAINS.defn
    async def anchor_chains(self, reason: str) -> str:
        """A signed checkpoint of every chain (issue 20); the file's name, or "" without AUDIT_ANCHOR_KEY."""
        if self.anchors is None:
            log.warning("audit anchor (%s) skipped: AUDIT_ANCHOR_KEY is unset", reason)
            return ""
        anchors = self.anchors

        def write() -> str:
            with self.sessions() as s:
                return anchors.write(s).name
        return await asyncio.to_thread(write)

    def all(self) -> list:
        return [self.archive_history, self.anchor_chains]


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Register Ramflow's search attributes that the namespace lacks (idempotent); returns those added.
    Works on the dev server, the time-skipping test server and a self-hosted cluster (operator API)."""
    try:
        listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
        existing = set(listed.custom_attributes)
    except RPCError as error:  # the time-skipping test server can add but not list them
        if error.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        existing = set()
    missing = {key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in ALL_KEYS if key.name not in existing}
    if missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing))
        except RPCError as error:
            if error.status != RPCStatusCode.ALREADY_EXISTS:
                raise
        log.info("registered search attributes %s", ", ".join(sorted(missing)))
    return sorted(missing)
