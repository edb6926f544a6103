"""Development only (issue 21): the mail the development mail server caught (MAIL_DEV_CATCH_DIR), newest
first, for IT staff on the embedded stack. Not registered when MAIL_DEV_CATCH_DIR is unset (production)."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response

from console.ui import Ui
from mail.devserver import caught

IT_ROLES = {"it-staff", "it-admin"}


def register(console: FastAPI, ui: Ui, catch_dir: str | None) -> None:
    if not catch_dir:
        return

    @console.get("/dev/mail", include_in_schema=False)
    async def dev_mail(request: Request) -> Response:
        session = await ui.signed_in(request)
        if not IT_ROLES & set(session.principal.roles):
            return ui.error(request, session, 403, "403", "it-staff, it-admin")
        return ui.render(request, "dev_mail.html", session, rows=caught(Path(catch_dir)))
