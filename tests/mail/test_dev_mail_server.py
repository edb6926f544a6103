"""Issue 21, the embedded stack's development mail server (mail/devserver.py) on loopback: every mail is
caught as an .eml, mail to the support address lands in the support Maildir (cur/new/tmp) the inbound half
reads, `python -m mail.send_test` sends one, and the console's development page lists caught mail to IT."""
from __future__ import annotations

import mailbox
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import httpx

from api.auth import Principal
from api.main import create_app
from console.session import COOKIE
from mail.devserver import caught, controller
from tests.conftest import ROOT, free_port

SUPPORT = "support@it.tranemo-ulricehamn.example"


def send(port: int, to: str, subject: str) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "eva.ek@tranemo.example", to, subject
    mail.set_content("Hej!")
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.send_message(mail)


def test_issue21_dev_server_catches_mail_and_delivers_support_mail_to_the_maildir(tmp_path: Path):
    port = free_port()
    server = controller(tmp_path / "outgoing", tmp_path / "support", SUPPORT, port=port)
    server.start()
    try:
        send(port, "ks@tranemo.example", "Levererad")
        send(port, SUPPORT, "Skrivaren skriver inte ut")
        done = subprocess.run([sys.executable, "-m", "mail.send_test", "--port", str(port), "--subject", "Test"],
                              cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
    finally:
        server.stop()
    [kept] = caught(tmp_path / "outgoing")
    assert (kept["to"], kept["subject"]) == ("ks@tranemo.example", "Levererad")
    assert {d.name for d in (tmp_path / "support").iterdir()} == {"cur", "new", "tmp"}
    support = mailbox.Maildir(tmp_path / "support", create=False)
    assert sorted(m["Subject"] for m in support) == ["Skrivaren skriver inte ut", "Test"]
    assert len(list((tmp_path / "support" / "new").iterdir())) == 2  # unread, for the inbound half


async def test_issue21_console_dev_page_lists_caught_mail_to_it_staff_only(settings, sessions, issuer, tmp_path):
    port = free_port()
    server = controller(tmp_path / "outgoing", tmp_path / "support", SUPPORT, port=port)
    server.start()
    try:
        send(port, "ks@tranemo.example", "ORD-1 levererad")
    finally:
        server.stop()
    app = create_app(settings=settings.model_copy(update={"mail_dev_catch_dir": str(tmp_path / "outgoing")}),
                     sessions=sessions)
    mounted = next(r.app for r in app.routes if getattr(r, "path", "") == "/console")

    async def get(sub: str, *roles: str) -> httpx.Response:
        sid = await mounted.state.store.create(issuer.mint(sub, roles), Principal(sub, frozenset(roles)), 600)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:24603",
                                     cookies={COOKIE: sid}) as http:
            return await http.get("/console/dev/mail")

    page = await get("it.anna", "it-staff")
    assert page.status_code == 200 and "Fångad e-post" in page.text and "ORD-1 levererad" in page.text
    assert (await get("E5001", "employee")).status_code == 403
    production = create_app(settings=settings, sessions=sessions)  # MAIL_DEV_CATCH_DIR unset: no such page
    prod_console = next(r.app for r in production.routes if getattr(r, "path", "") == "/console")
    assert not any(getattr(r, "path", "") == "/dev/mail" for r in prod_console.routes)
