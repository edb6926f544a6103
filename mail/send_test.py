"""Send one test mail to the development mail server (issue 21): by default to the support address, where the
inbound half turns it into a ticket. `python -m mail.send_test [--to ADDRESS] [--from ADDRESS] [--subject …]`."""
from __future__ import annotations

import argparse
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid


def main() -> None:
    from config import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", default=settings.mail_support_address)
    parser.add_argument("--from", dest="sender", default="anna.andersson@tranemo.example")
    parser.add_argument("--subject", default="Skrivaren på plan 2 skriver inte ut")
    parser.add_argument("--body", default="Hej! Skrivaren på plan 2 skriver inte ut sedan i morse. /Anna")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    args = parser.parse_args()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = args.sender, args.to, args.subject
    message["Message-ID"] = make_msgid(domain="tranemo.example")
    message.set_content(args.body)
    with smtplib.SMTP(args.host, args.port, timeout=10) as smtp:
        smtp.send_message(message)
    print(f"sent {message['Message-ID']} to {args.to} via {args.host}:{args.port}")


if __name__ == "__main__":
    main()
