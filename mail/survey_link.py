"""Rule TK-6 by mail: a personal, signed, single-use link that answers the survey without signing in.
The token carries the ticket number and the expiry, nothing about the person (it travels in URLs and logs),
signed with SURVEY_LINK_SECRET (itsdangerous, HMAC over the payload); personal because only the ticket's reporter
is mailed it; single use: a ticket's survey is answered once (survey_answers' key)."""
from __future__ import annotations

from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "ramflow-survey-link"


class InvalidLink(Exception):
    """Forged, altered or expired: the message says which."""


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def make_token(secret: str, number: str, expires: datetime) -> str:
    return _serializer(secret).dumps({"t": number, "x": int(expires.timestamp())})


def link(secret: str, base_url: str, number: str, now: datetime, days: int) -> tuple[str, datetime]:
    """The link and its expiry."""
    expires = now + timedelta(days=days)
    return f"{base_url.rstrip('/')}/api/v1/survey/{make_token(secret, number, expires)}", expires


def read_token(secret: str, token: str, now: datetime) -> str:
    """The ticket number of a valid token; InvalidLink otherwise."""
    try:
        payload = _serializer(secret).loads(token)
    except BadSignature as error:
        raise InvalidLink("token: not a survey link of Ramflow (signature)") from error
    if not isinstance(payload, dict) or not {"t", "x"} <= payload.keys():
        raise InvalidLink("token: not a survey link of Ramflow (content)")
    if now.timestamp() >= payload["x"]:
        raise InvalidLink("token: the survey link has expired (rule TK-6)")
    return str(payload["t"])
