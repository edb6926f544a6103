"""Rule AV-4: each municipality's operational messages as a public Atom feed for its intranet (issue 21)."""
from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import select

from api.deps import SessionDep
from db.models import Municipality, OutboxMessage
from mail.feed import atom

router = APIRouter(tags=["support tickets"])
FEED_SIZE = 50


@router.get("/feeds/{municipality}/driftinformation.atom", responses={404: {}},
            response_class=Response)
def operational_feed(municipality: str, session: SessionDep, request: Request) -> Response:
    """The newest operational messages published for `municipality` (no personal data)."""
    row = session.get(Municipality, municipality)
    if row is None:
        raise HTTPException(404, f"municipality: unknown municipality {municipality!r}")
    messages = list(session.execute(
        select(OutboxMessage.key, OutboxMessage.id, OutboxMessage.created_at, OutboxMessage.subject, OutboxMessage.body)
        .where(OutboxMessage.topic == "operational_message", OutboxMessage.recipient == f"intranet:{municipality}")
        .order_by(OutboxMessage.id.desc()).limit(FEED_SIZE)))
    items = [(key or f"outbox:{outbox_id}", at, subject, body) for key, outbox_id, at, subject, body in messages]
    updated = items[0][1] if items else datetime(2026, 1, 1, tzinfo=timezone.utc)
    return Response(atom(municipality, row.name, str(request.url), items, updated),
                    media_type="application/atom+xml; charset=utf-8")
