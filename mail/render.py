"""The mail a person reads (issue 21): Jinja2 templates per topic and language (templates/<topic>.<sv|en>.txt,
the first line the subject), the HTML part from the same text (templates/_layout.html). Swedish unless the
person's language is English. A topic without a template of its own is mailed as written (subject and body of
the outbox row) inside a Swedish frame. A template shows only what its purpose needs: numbers, dates, amounts
and links, no other person's data."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"
MONTHS = {"sv": ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
                 "november", "december"],
          "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                 "November", "December"]}
LINES = {"sv": {"first_line": "första linjen (användarstöd)", "second_line": "andra linjen (IT-tekniker)",
                "verksamhetsstod": "verksamhetsstöd", "infrastruktur": "infrastruktur"},
         "en": {"first_line": "the first line (user support)", "second_line": "the second line (IT technicians)",
                "verksamhetsstod": "business systems support", "infrastruktur": "infrastructure"}}
# rule TK-4's functions as the reporter knows them
FUNCTIONS = {"sv": {"workstation_login": "datorn startar och du kan logga in", "access_rights": "behörighet till rätt "
                    "information", "network_printing": "utskrift på nätverksskrivare", "storage_save": "spara på P "
                    "och G", "storage_restore": "återläsa från P och G", "client_protection": "klient- och "
                    "spamskydd", "web_filter": "webbfilter", "wireless_network": "trådlöst nätverk", "telephony":
                    "fast telefoni och växel", "email_calendar": "e-post och kalender", "infocaption": "Infocaption",
                    "office": "Office-programmen", "remote_access": "mobilt distansarbete",
                    "software_distribution": "programdistribution"},
             "en": {"workstation_login": "the computer starts and you can log in", "access_rights": "access to the "
                    "right information", "network_printing": "network printing", "storage_save": "saving to P and G",
                    "storage_restore": "restoring from P and G", "client_protection": "client and spam protection",
                    "web_filter": "web filter", "wireless_network": "wireless network", "telephony": "fixed telephony "
                    "and call routing", "email_calendar": "e-mail and calendar", "infocaption": "Infocaption",
                    "office": "the Office programs", "remote_access": "mobile remote access",
                    "software_distribution": "software distribution"}}
URL = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _when(value: str | None, lang: str, tz: ZoneInfo) -> str:
    """An instant in local time, in words: `10 mars 2026 kl. 10:00`."""
    if not value:
        return ""
    at = datetime.fromisoformat(value).astimezone(tz)
    month = MONTHS[lang][at.month - 1]
    return f"{at.day} {month} {at.year} kl. {at:%H:%M}" if lang == "sv" else f"{at.day} {month} {at.year} at {at:%H:%M}"


def _money(value: str | None, lang: str) -> str:
    try:
        amount = Decimal(value or "")
    except InvalidOperation:
        return value or ""
    whole = f"{amount:,.2f}"  # 1,234.50
    return whole.replace(",", " ").replace(".", ",") + " kr" if lang == "sv" else f"SEK {whole}"


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def _linked(paragraph: str) -> str:
    """Escape a paragraph for HTML and make its links clickable."""
    from markupsafe import Markup, escape

    out, last = [], 0
    for match in URL.finditer(paragraph):
        out += [escape(paragraph[last:match.start()]), Markup('<a href="{0}">{0}</a>').format(match.group(0))]
        last = match.end()
    out.append(escape(paragraph[last:]))
    return Markup("").join(out).replace("\n", Markup("<br>\n"))


class Renderer:
    def __init__(self, timezone: str = "Europe/Stockholm", base_url: str = "http://127.0.0.1:8000") -> None:
        self.tz, self.base_url = ZoneInfo(timezone), base_url.rstrip("/")
        self.text_env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                                    keep_trailing_newline=True, autoescape=False)
        self.html_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))

    def render(self, topic: str, lang: str, subject: str, body: str, data: dict[str, str],
               extra: dict[str, str] | None = None) -> Rendered:
        lang = "en" if lang == "en" else "sv"
        context = {"d": {**data, **(extra or {})}, "subject": subject, "body": body, "base_url": self.base_url,
                   "when": lambda v: _when(v, lang, self.tz), "money": lambda v: _money(v, lang),
                   "line": lambda v: LINES[lang].get(v or "", v or ""),
                   "function": lambda v: FUNCTIONS[lang].get(v or "", v or "")}
        try:
            template = self.text_env.get_template(f"{topic}.{lang}.txt")
        except TemplateNotFound:
            template = self.text_env.get_template(f"_generic.{lang}.txt")
        first, _, rest = template.render(context).partition("\n")
        text = rest.strip() + "\n"
        html = self.html_env.get_template("_layout.html").render(
            lang=lang, subject=first.strip(), paragraphs=[_linked(p) for p in _paragraphs(text)])
        return Rendered(first.strip()[:200], text, html)
