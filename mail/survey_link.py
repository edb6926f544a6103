"""Rule TK-6 by mail: a personal, signed, single-use link that answers the survey without signing in.
The token carries the ticket, the reporter and the expiry, signed with SURVEY_LINK_SECRET (itsdangerous,
HMAC-SHA1 over the payload); single use: a ticket's survey is answered once (survey_answers' key)."""
from __future__ import annotations

from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "ramflow-survey-link"


class InvalidLink(Exception):
    """Forged, altered or expired: the message says which."""


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def make_token(secret: str, number: str, reporter_ref: str, expires: datetime) -> str:
    return _serializer(secret).dumps({"t": number, "r": reporter_ref, "x": int(expires.timestamp())})


def link(secret: str, base_url: str, number: str, reporter_ref: str, now: datetime, days: int) -> tuple[str, datetime]:
    """The link and its expiry."""
    expires = now + timedelta(days=days)
    return f"{base_url.rstrip('/')}/api/v1/survey/{make_token(secret, number, reporter_ref, expires)}", expires


def read_token(secret: str, token: str, now: datetime) -> tuple[str, str]:
    """(ticket number, reporter) of a valid token; InvalidLink otherwise."""
    try:
        payload = _serializer(secret).loads(token)
    except BadSignature as error:
        raise InvalidLink("token: not a survey link of Ramflow (signature)") from error
    if not isinstance(payload, dict) or not {"t", "r", "x"} <= payload.keys():
        raise InvalidLink("token: not a survey link of Ramflow (content)")
    if now.timestamp() >= payload["x"]:
        raise InvalidLink("token: the survey link has expired (rule TK-6)")
    return str(payload["t"]), str(payload["r"])
