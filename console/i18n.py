"""Swedish first, English available: the console's words and the Swedish formats of dates, times and money."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, ROUND_HALF_UP
from zoneinfo import ZoneInfo

LANGUAGES = ("sv", "en")
TZ = ZoneInfo("Europe/Stockholm")
NBSP = "\u00a0"  # keeps `1 150,00 kr` on one line

WORDS: dict[str, dict[str, str]] = {
    "sv": {
        "app": "Ramflow", "skip": "Hoppa till innehållet", "login": "Logga in", "logout": "Logga ut",
        "signed_in_as": "Inloggad som", "language": "Språk", "other_language": "In English",
        "queue": "Ärendekö", "tickets": "Ärenden", "ticket": "Ärende", "devices": "Utrustning", "device": "Utrustning",
        "my_devices": "Min utrustning", "inbox": "Att besluta", "audit": "Granskning", "new_ticket": "Nytt ärende",
        "new_request": "Ny beställning av tjänst", "order": "Beställ utrustning", "requests": "Tjänstebeställningar",
        "line": "Linje", "first_line": "1:a linjen (användarstöd)", "second_line": "2:a linjen (användarstöd)",
        "verksamhetsstod": "3:e linjen verksamhetsstöd", "infrastruktur": "3:e linjen infrastruktur",
        "number": "Nummer", "title": "Rubrik", "unit": "Enhet/förvaltning", "state": "Status", "deadline": "Åtgärdas senast",
        "time_left": "Kvar (arbetstid)", "assignee": "Handläggare", "reported": "Anmält", "intefunktion": "Intefunktion",
        "warning": "Varning", "breached": "Överskriden", "ok": "I tid", "paused": "Klockan står",
        "timeline": "Tidslinje", "events": "Händelser", "no_events": "Inga händelser är tillåtna i detta läge.",
        "when": "När", "event": "Händelse", "from": "Från", "to": "Till", "actor": "Vem", "reason": "Varför",
        "rule": "Regel", "refused": "Nekad", "done": "Klart", "search": "Sök", "model": "Modell",
        "category": "Kategori", "user": "Användare", "renewal_due": "Förnyas", "buyout": "Utköp",
        "buyout_offer": "Erbjudande om utköp", "price": "Pris", "answer_by": "Svara senast", "accept": "Tacka ja",
        "decline": "Tacka nej", "none": "Inga", "description": "Beskrivning", "reporter": "Anmälare (anst.nr)",
        "return_flagged": "Ska lämnas tillbaka (användaren har slutat)",
        "create": "Skapa", "kind": "Typ", "process": "Process", "key": "Nyckel", "period_from": "Från datum",
        "period_to": "Till datum", "results": "Träffar", "waiting_for": "Väntar på", "chain": "Kedjan hittills",
        "send": "Skicka", "escalate_to": "Eskalera till", "level": "Stödnivå", "matter": "Gäller",
        "function": "Funktion som inte fungerar (intefunktion)", "order_number": "Ordernummer",
        "location": "Placering", "applicant": "Sökande", "account_name": "Kontonamn", "tertial": "Tertial",
        "not_allowed": "Du har inte behörighet till sidan.", "not_found": "Finns inte, eller så får du inte se den.",
        "decided_on": "Beslutsdatum", "minutes_ref": "Protokoll (paragraf)", "priority": "Prioritet",
        "too_many": "För många inloggningsförsök", "retry_in": "Försök igen om {seconds} sekunder.",
        "home": "Start", "welcome": "Välkommen", "avrop": "Avrop", "all": "Alla", "error": "Fel",
        "mirror": "Uppgifterna kommer från registret (processen svarade inte i tid).",
        "warning_why": "varningsandelen av åtgärdstiden har gått", "breached_why": "åtgärdstiden har passerats",
        "invoices": "Fakturaunderlag", "invoice": "Fakturaunderlag", "period": "Period", "total": "Summa",
        "files": "Filer till system", "file_name": "Fil", "system": "System", "checksum": "Kontrollsumma (SHA-256)",
        "made_by": "Skapad av", "delivered_to": "Levererad till", "delivered_at": "Levererad",
        "download": "Hämta", "sys_economy": "Ekonomi", "sys_payroll": "Lön",
        "sys_ordering": "E-handel", "st_pending": "Väntar", "st_delivered": "Levererad", "st_failed": "Misslyckad",
        "lines": "Rader", "article": "Artikel", "text": "Text", "quantity": "Antal", "unit_price": "À-pris",
        "amount": "Belopp", "changes": "Förändringar sedan förra underlaget", "no_changes": "Inga förändringar",
        "previous_total": "Summa förra underlaget", "municipality": "Kommun", "published": "Publicerat",
        "show": "Visa", "refusals": "Nekade försök", "status": "Svar", "message": "Meddelande",
        "export_csv": "Exportera (CSV)", "export_bundle": "Exportbunt (JSON, kan spelas upp igen)",
        "event_filter": "Händelse", "last_move": "Senaste träff", "rules": "Regler",
        "request_kind": "Typ av beställning", "non_employee_account": "Konto för icke anställd",
        "functional_mailbox": "Funktionsadress (e-post)", "program_installation": "Installation av program",
        "physical_move": "Flytt av utrustning",
        "dev_mail": "Fångad e-post (utveckling)", "dev_mail_intro": "Utvecklingsservern på 127.0.0.1:1025 fångar "
        "all e-post; ingenting lämnar datorn. Post till supportadressen läggs i supportbrevlådan.",
        "recipient": "Mottagare", "subject": "Ämne", "sent": "Skickad",
        "search_tickets": "Sök ärenden", "serial_number": "Serienummer", "delivered": "Levererad",
        "delivered_from": "Levererad från", "delivered_to": "Levererad till",
        "user_search": "Användare (anst.nr eller namn)", "reporter_search": "Anmälare (anst.nr eller namn)",
        "reporter_name": "Anmälare", "ticket_text": "Ord i rubrik eller beskrivning",
        "device_search_hint": "serienummer, ordernummer, anst.nr eller namn", "pages": "Sidor", "page": "Sida",
        "previous": "Föregående sida", "next": "Nästa sida",
        "field_assignee": "Handläggare", "field_to": "Till", "field_resolution": "Lösning",
        "field_serial_number": "Serienummer", "field_price": "Pris (kr)", "field_buyer_ref": "Köpare (anst.nr)",
        "field_unit_id": "Enhet/förvaltning", "field_user_ref": "Användare (anst.nr)",
        "field_vendor": "Raderingsleverantör", "field_certificate_id": "Raderingsintyg (nummer)",
        "field_police_report_ref": "Polisanmälan (diarienummer)", "field_result": "Resultat",
        "field_minutes_worked": "Arbetad tid (minuter)", "field_decided_on": "Beslutsdatum",
        "field_minutes_ref": "Protokoll (paragraf)", "field_priority": "Prioritet", "field_party": "Part",
        "field_municipality": "Kommun", "proposal_changes": "Vad förslaget ändrar",
        "decisions": "Beslut i varje organ", "body": "Organ", "decision": "Beslut", "summary": "Sammanfattning",
        "law_reference": "Lagändring", "effective_from": "Gäller från", "supersedes": "Ersätter",
        "services": "Tjänster som tillkommer (antal)", "prices": "Prisrader (antal)",
        "equipment_prices": "Utrustningspriser (antal)",
        # issue 23: the ticket as a conversation, the queue
        "conversation": "Konversation", "no_messages": "Inga meddelanden ännu.",
        "direction_in": "Från anmälaren", "direction_out": "Till anmälaren", "direction_internal": "Intern anteckning",
        "write_note": "Intern anteckning", "write_note_hint": "Syns bara för IT.",
        "write_reply": "Svar till anmälaren", "write_reply_hint": "Syns för anmälaren och skickas med e-post.",
        "write_question": "Fråga till kunden", "write_question_hint": "Ärendet väntar på kundens svar och "
        "klockan står tills kunden svarar (regel TK-5).",
        "write_answer": "Ditt svar till IT", "write_answer_hint": "Ärendet fortsätter när du har svarat.",
        "send_note": "Spara anteckning", "send_reply": "Skicka svar", "send_question": "Skicka fråga och vänta",
        "send_answer": "Skicka svar", "written_note": "Anteckningen är sparad.", "written_reply": "Svaret är skickat.",
        "written_question": "Frågan är skickad; ärendet väntar på kunden.",
        "written_answer": "Tack! Ditt svar är skickat till IT.", "message_empty": "Skriv ett meddelande först.",
        "attachment": "Bifoga fil (valfritt)", "not_assigned": "Inte tilldelat ännu",
        "assignee_contact": "(du kan kontakta handläggaren om ärendet, regel TK-2)",
        "no_deadline": "Ingen åtgärdstid (inte intefunktion)",
        "waiting_customer": "Ärendet väntar på kundens svar; klockan står.",
        "waiting_answer": "IT har en fråga till dig. Svara längst ned i konversationen så fortsätter ärendet.",
        "age": "Ålder", "mine": "Mina ärenden", "all_lines": "Alla linjer", "filter": "Filtrera",
        "sort": "Sortering", "sort_due": "Mest brådskande först", "sort_reported": "Äldst först",
        "sort_newest": "Nyast först", "any": "Alla",
        "report_intro": "Beskriv felet så hjälper IT-supporten dig. Du får svar här och med e-post.",
        "report_title": "Vad gäller det? (kort)", "report_description": "Beskriv felet: vad händer, sedan när?",
        "report_device": "Vilken utrustning gäller det?", "report_no_device": "Ingen särskild utrustning",
        "report_blocked": "Hindrar felet dig från att arbeta med något av det här?",
        "report_function": "Vad fungerar inte?", "yes": "Ja", "no": "Nej",
        "report_affects": "Felet påverkar verksamheten (t.ex. flera kollegor eller brukare)",
        "report_cannot_wait": "Det kan inte vänta till nästa arbetsdag",
        "attached_at_report": "Bifogat vid anmälan.", "reported_ticket": "Tack! Ditt ärende {number} är anmält.",
        "fn_workstation_login": "Datorn startar inte eller jag kan inte logga in",
        "fn_access_rights": "Jag kommer inte åt den information jag behöver i mitt arbete",
        "fn_network_printing": "Jag kan inte skriva ut",
        "fn_storage_save": "Jag kan inte spara på P: eller G:",
        "fn_storage_restore": "Jag kan inte få tillbaka en fil från P: eller G:",
        "fn_client_protection": "Virusskyddet eller skräppostskyddet fungerar inte",
        "fn_web_filter": "Webbfiltret stoppar sidor jag behöver", "fn_wireless_network": "Trådlösa nätverket",
        "fn_telephony": "Telefonen eller vidarekopplingen fungerar inte", "fn_email_calendar": "E-post eller kalender",
        "fn_infocaption": "Guideplattformen (InfoCaption)", "fn_office": "Office-programmen startar inte",
        "fn_remote_access": "Jag kan inte arbeta på distans (fjärråtkomst)",
        "fn_software_distribution": "Jag kan inte installera program från programportalen",
        "confirm_heading": "Bekräfta", "confirm_yes": "Ja, jag bekräftar", "confirm_no": "Nej, tillbaka",
        "confirm_generic": "Åtgärden går inte att ångra här. Vill du fortsätta?",
        "confirm_renew_now": "Utrustningen förnyas nu: ny utrustning beställs och den gamla ska lämnas tillbaka.",
        "confirm_report_stolen": "Utrustningen anmäls stulen: den spärras och du behöver göra en polisanmälan.",
        "confirm_give_notice": "Utrustningen sägs upp: hyran upphör och den ska lämnas tillbaka.",
        "confirm_accept_buyout": "Du köper ut datorn för priset nedan. Det är bindande (regel EQ-11).",
        "confirm_board_reject": "Ärendet avslås av nämnden/styrelsen och beslutet förs in i protokollet.",
        "confirm_reject": "Förslaget avslås.",
        "buyout_erasure": "Innan du får datorn raderas den med certifierad radering och installeras om med "
        "ursprungligt operativsystem; dina och arbetsgivarens data följer inte med.",
        "buyout_salary": "Priset dras från din nettolön (efter skatt) vid nästa löneutbetalning.",
        "buyout_flag": "Du har ett erbjudande om att köpa ut en dator. Svara senast sista svarsdag.",
        "buyout_read": "Läs erbjudandet",
        "order_number_allocated": "Ordernumret får beställningen av Ramflow när du skickar den.",
        "per_month": "/mån", "per_week": "/vecka", "no_price": "pris saknas för i år",
        "renewed_after": "förnyas efter {months} mån", "answer_needed": "IT väntar på svar"
    },
    "en": {
        "app": "Ramflow", "skip": "Skip to content", "login": "Sign in", "logout": "Sign out",
        "signed_in_as": "Signed in as", "language": "Language", "other_language": "På svenska",
        "queue": "Ticket queue", "tickets": "Tickets", "ticket": "Ticket (ärende)", "devices": "Devices",
        "device": "Device", "my_devices": "My devices", "inbox": "Awaiting decision", "audit": "Audit",
        "new_ticket": "New ticket", "new_request": "New service request", "order": "Order equipment",
        "requests": "Service requests", "line": "Line", "first_line": "1st line (användarstöd)",
        "second_line": "2nd line (användarstöd)", "verksamhetsstod": "3rd line verksamhetsstöd",
        "infrastruktur": "3rd line infrastruktur", "number": "Number", "title": "Title", "unit": "Unit",
        "state": "State", "deadline": "Deadline", "time_left": "Left (working hours)", "assignee": "Assignee",
        "reported": "Reported", "intefunktion": "Intefunktion", "warning": "Warning", "breached": "Breached",
        "ok": "On time", "paused": "Clock paused", "timeline": "Timeline", "events": "Events",
        "no_events": "No event is allowed in this state.", "when": "When", "event": "Event", "from": "From",
        "to": "To", "actor": "Who", "reason": "Why", "rule": "Rule", "refused": "Refused", "done": "Done",
        "search": "Search", "model": "Model", "category": "Category", "user": "User", "renewal_due": "Renewal",
        "buyout": "Buyout (utköp)", "buyout_offer": "Buyout offer (utköp)", "price": "Price",
        "answer_by": "Answer by", "accept": "Accept", "decline": "Decline", "none": "None",
        "description": "Description", "reporter": "Reporter (employee no.)",
        "return_flagged": "To be returned (the user left)", "create": "Create", "kind": "Kind",
        "process": "Process", "key": "Key", "period_from": "From date", "period_to": "To date",
        "results": "Results", "waiting_for": "Waiting for", "chain": "Chain so far", "send": "Send",
        "escalate_to": "Escalate to", "level": "Support level", "matter": "Matter",
        "function": "Failing function (intefunktion)", "order_number": "Order number", "location": "Location",
        "applicant": "Applicant", "account_name": "Account name", "tertial": "Tertial",
        "not_allowed": "You may not see this page.", "not_found": "Not found, or not yours to see.",
        "decided_on": "Decided on", "minutes_ref": "Minutes (paragraph)", "priority": "Priority",
        "too_many": "Too many sign-in attempts", "retry_in": "Try again in {seconds} seconds.",
        "home": "Home", "welcome": "Welcome", "avrop": "Call-off (avrop)", "all": "All", "error": "Error",
        "mirror": "Shown from the register (the process did not answer in time).",
        "warning_why": "the warning share of the time to fix has passed", "breached_why": "the deadline has passed",
        "invoices": "Invoice bases", "invoice": "Invoice basis", "period": "Period", "total": "Total",
        "files": "Files to systems", "file_name": "File", "system": "System", "checksum": "Checksum (SHA-256)",
        "made_by": "Made by", "delivered_to": "Delivered to", "delivered_at": "Delivered",
        "download": "Download", "sys_economy": "Economy", "sys_payroll": "Payroll",
        "sys_ordering": "E-commerce", "st_pending": "Pending", "st_delivered": "Delivered", "st_failed": "Failed",
        "lines": "Lines", "article": "Article", "text": "Text", "quantity": "Quantity", "unit_price": "Unit price",
        "amount": "Amount", "changes": "Changes since the previous basis", "no_changes": "No changes",
        "previous_total": "Previous basis total", "municipality": "Municipality", "published": "Published",
        "show": "Show", "refusals": "Refused attempts", "status": "Answer", "message": "Message",
        "export_csv": "Export (CSV)", "export_bundle": "Export bundle (JSON, replays)",
        "event_filter": "Event", "last_move": "Last match", "rules": "Rules",
        "request_kind": "Kind of request", "non_employee_account": "Account for a non-employee",
        "functional_mailbox": "Functional e-mail address", "program_installation": "Program installation",
        "physical_move": "Moving equipment",
        "dev_mail": "Caught mail (development)", "dev_mail_intro": "The development server on 127.0.0.1:1025 "
        "catches every mail; nothing leaves the machine. Mail to the support address goes to the support mailbox.",
        "recipient": "Recipient", "subject": "Subject", "sent": "Sent",
        "search_tickets": "Search tickets", "serial_number": "Serial number", "delivered": "Delivered",
        "delivered_from": "Delivered from", "delivered_to": "Delivered to",
        "user_search": "User (employee no. or name)", "reporter_search": "Reporter (employee no. or name)",
        "reporter_name": "Reporter", "ticket_text": "Words of the title or description",
        "device_search_hint": "serial number, order number, employee no. or name", "pages": "Pages", "page": "Page",
        "previous": "Previous page", "next": "Next page",
        "field_assignee": "Assignee", "field_to": "To", "field_resolution": "Resolution",
        "field_serial_number": "Serial number", "field_price": "Price (SEK)", "field_buyer_ref": "Buyer (employee no.)",
        "field_unit_id": "Unit", "field_user_ref": "User (employee no.)",
        "field_vendor": "Erasure vendor", "field_certificate_id": "Erasure certificate (number)",
        "field_police_report_ref": "Police report (reference)", "field_result": "Result",
        "field_minutes_worked": "Time worked (minutes)", "field_decided_on": "Decided on",
        "field_minutes_ref": "Minutes (paragraph)", "field_priority": "Priority", "field_party": "Party",
        "field_municipality": "Municipality", "proposal_changes": "What the proposal changes",
        "decisions": "Each body's decision", "body": "Body", "decision": "Decision", "summary": "Summary",
        "law_reference": "Change in law", "effective_from": "In force from", "supersedes": "Supersedes",
        "services": "Services added (count)", "prices": "Price lines (count)",
        "equipment_prices": "Equipment prices (count)",
        # issue 23: the ticket as a conversation, the queue
        "conversation": "Conversation", "no_messages": "No messages yet.",
        "direction_in": "From the reporter", "direction_out": "To the reporter", "direction_internal": "Internal note",
        "write_note": "Internal note", "write_note_hint": "Seen by IT only.",
        "write_reply": "Reply to the reporter", "write_reply_hint": "Seen by the reporter and sent by e-mail.",
        "write_question": "Question to the customer", "write_question_hint": "The ticket waits for the customer's "
        "answer and the clock stops until they answer (rule TK-5).",
        "write_answer": "Your answer to IT", "write_answer_hint": "The ticket goes on once you have answered.",
        "send_note": "Save note", "send_reply": "Send reply", "send_question": "Send question and wait",
        "send_answer": "Send answer", "written_note": "The note is saved.", "written_reply": "The reply is sent.",
        "written_question": "The question is sent; the ticket waits for the customer.",
        "written_answer": "Thank you! Your answer is sent to IT.", "message_empty": "Write a message first.",
        "attachment": "Attach a file (optional)", "not_assigned": "Not assigned yet",
        "assignee_contact": "(you may contact the technician about the ticket, rule TK-2)",
        "no_deadline": "No time to fix (not intefunktion)",
        "waiting_customer": "The ticket waits for the customer's answer; the clock is stopped.",
        "waiting_answer": "IT has a question for you. Answer at the end of the conversation and the ticket goes on.",
        "age": "Age", "mine": "My tickets", "all_lines": "All lines", "filter": "Filter",
        "sort": "Sort", "sort_due": "Most urgent first", "sort_reported": "Oldest first",
        "sort_newest": "Newest first", "any": "Any",
        "report_intro": "Describe the problem and IT support will help you. You get answers here and by e-mail.",
        "report_title": "What is it about? (short)", "report_description": "Describe it: what happens, since when?",
        "report_device": "Which of your devices is it?", "report_no_device": "No particular device",
        "report_blocked": "Does the problem stop you from working with any of these?",
        "report_function": "What does not work?", "yes": "Yes", "no": "No",
        "report_affects": "It affects the operation (e.g. several colleagues or clients)",
        "report_cannot_wait": "It cannot wait until the next working day",
        "attached_at_report": "Attached when reported.", "reported_ticket": "Thank you! Your ticket {number} is reported.",
        "fn_workstation_login": "The computer does not start or I cannot sign in",
        "fn_access_rights": "I cannot reach the information I need for my work",
        "fn_network_printing": "I cannot print", "fn_storage_save": "I cannot save to P: or G:",
        "fn_storage_restore": "I cannot restore a file from P: or G:",
        "fn_client_protection": "The virus or spam protection does not work",
        "fn_web_filter": "The web filter blocks pages I need", "fn_wireless_network": "The wireless network",
        "fn_telephony": "The phone or call forwarding does not work", "fn_email_calendar": "E-mail or calendar",
        "fn_infocaption": "The guides platform (InfoCaption)", "fn_office": "The Office programs do not start",
        "fn_remote_access": "I cannot work remotely (remote access)",
        "fn_software_distribution": "I cannot install programs from the software portal",
        "confirm_heading": "Confirm", "confirm_yes": "Yes, I confirm", "confirm_no": "No, go back",
        "confirm_generic": "This cannot be undone here. Do you want to go on?",
        "confirm_renew_now": "The device is renewed now: a new one is ordered and the old one is to be returned.",
        "confirm_report_stolen": "The device is reported stolen: it is blocked and you need to report it to the police.",
        "confirm_give_notice": "The device is given notice: the rent ends and the device is to be returned.",
        "confirm_accept_buyout": "You buy the device at the price below. It is binding (rule EQ-11).",
        "confirm_board_reject": "The board rejects the case and the decision goes into the minutes.",
        "confirm_reject": "The proposal is rejected.",
        "buyout_erasure": "Before you get the device it is erased with a certified erasure and reinstalled with "
        "its original operating system; no data of yours or the employer's stays on it.",
        "buyout_salary": "The price is deducted from your net salary (after tax) at the next payday.",
        "buyout_flag": "You have an offer to buy a device. Answer by the last day of the offer.",
        "buyout_read": "Read the offer",
        "order_number_allocated": "Ramflow gives the order its number when you send it.",
        "per_month": "/month", "per_week": "/week", "no_price": "no price this year",
        "renewed_after": "renewed after {months} months", "answer_needed": "IT awaits an answer"
    },
}


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["sv"])


def _local(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(TZ) if value.tzinfo is not None else value


MONTHS = {"sv": ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
          "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")}


def day(value: datetime | date | str | None, lang: str = "sv") -> str:
    """`8 dec 2026`: as Swedes write a date (issue 23)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        local = value
    elif isinstance(value, str) and len(value) == 10:
        local = date.fromisoformat(value)
    else:
        local = _local(value)
    if local is None:
        return "–"
    return f"{local.day} {MONTHS.get(lang, MONTHS['sv'])[local.month - 1]} {local.year}"


def when(value: datetime | str | None, lang: str = "sv") -> str:
    """`8 dec 2026 14:05`, local time of the municipalities (issue 23: as Swedes write it)."""
    local = _local(value)
    return "–" if local is None else f"{day(local, lang)} {local:%H:%M}"


def kronor(value: Decimal | str | float | None) -> str:
    """`1 150,00 kr`: a (no-break) space between thousands, decimal comma."""
    if value is None or value == "":
        return "–"
    amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "−" if amount < 0 else ""
    whole, _, cents = f"{abs(amount):.2f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{NBSP.join(groups)},{cents}{NBSP}kr"


def quantity(value: Decimal | str | None) -> str:
    """`1`, `2,5`: no trailing zeros, decimal comma."""
    if value is None or value == "":
        return "–"
    return f"{Decimal(str(value)).normalize():f}".replace(".", ",")


def age(since: datetime | str | None, now: datetime) -> str:
    """How long ago, calendar time: `3 d 4 h`, `2 h 05 min`, `12 min` (issue 23: the queue's age)."""
    start = _local(since)
    if start is None:
        return "–"
    minutes = max(0, int((now - start).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return f"{days} d {hours} h" if days else f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def working_hours(seconds: float | None) -> str:
    """Time left in support hours: `5 h 30 min`."""
    if seconds is None:
        return "–"
    minutes = int(round(seconds / 60))
    sign = "−" if minutes < 0 else ""
    minutes = abs(minutes)
    hours, rest = divmod(minutes, 60)
    return f"{sign}{hours} h {rest:02d} min" if hours else f"{sign}{rest} min"


# The domain's events and states in Swedish (the code stays visible: it is what the API and the audit log say).
NAMES_SV: dict[str, str] = {
    # ticket events and states (TK-2 … TK-7)
    "report": "anmält", "assign": "tilldela", "escalate": "eskalera", "transfer": "överför",
    "wait_for_customer": "vänta på kund", "resume": "återuppta", "resolve": "lös", "reopen": "återöppna",
    "close": "stäng", "hand_back": "lämna tillbaka", "first_line": "1:a linjen", "second_line": "2:a linjen",
    "verksamhetsstod": "verksamhetsstöd", "infrastruktur": "infrastruktur", "assigned": "tilldelat",
    "waiting_for_customer": "väntar på kund", "resolved": "löst", "closed": "stängt", "reopened": "återöppnat",
    "handed_back": "tillbakalämnat",
    # device events and states (EQ-1 … EQ-12)
    "ordered": "beställd", "called_off": "avropad", "call_off": "avrop", "cancel": "avbeställ", "cancelled": "avbeställd",
    "deliver": "leverera", "delivered": "levererad", "activate": "aktivera", "in_use": "i bruk",
    "reassign": "flytta", "give_notice": "säg upp", "notice_given": "uppsagd", "withdraw_notice": "återkalla uppsägning",
    "renewal_due": "dags att förnya", "renew_now": "förnya nu", "return_device": "återlämna", "returned": "återlämnad",
    "offer_buyout": "erbjud utköp", "buyout_offered": "utköp erbjudet", "accept_buyout": "tacka ja till utköp",
    "decline_buyout": "tacka nej till utköp", "buyout_accepted": "utköp accepterat",
    "available_for_buyout": "kan köpas ut", "send_to_erasure": "skicka till radering",
    "awaiting_erasure": "väntar på radering", "record_erasure": "registrera radering", "erased": "raderad",
    "sell": "sälj", "sold": "såld", "sold_to_employee": "såld till medarbetare", "recycle": "återvinn",
    "recycled": "återvunnen", "dispose": "kassera", "disposed": "kasserad", "report_stolen": "anmäl stöld",
    "stolen": "stulen", "report_damaged": "anmäl skada", "damaged": "skadad", "report_lost": "anmäl borttappad",
    "lost": "borttappad", "record_police_report": "registrera polisanmälan", "settle": "reglera",
    "settled": "reglerad", "found": "återfunnen", "write_off": "skriv av", "written_off": "avskriven",
    # governance (GV-2 … GV-4)
    "prioritise": "prioritera", "forum_pass": "godkänn i IT-forum", "forum_reject": "avslå i IT-forum",
    "steering_reject": "avslå i styrgruppen", "steering_approve": "godkänn i styrgruppen",
    "strategist_approve": "godkänn (strateg)", "strategist_reject": "avslå (strateg)",
    "at_steering_group": "hos IT-styrgruppen",
    "device": "utrustning", "ticket": "ärende", "service_request": "tjänstebeställning", "governance": "styrning",
    "equipment": "utrustning", "service_introduction": "införande av tjänst", "cloud_move": "flytt till moln",
    "added": "tillkommit", "removed": "upphört", "moved_in": "flyttad hit", "moved_out": "flyttad härifrån",
    # roles, as the header names the signed-in person's (api.policy)
    "it-staff": "IT-personal", "it-admin": "IT-administratör", "unit-manager": "chef", "employee": "medarbetare",
    "system-owner": "systemägare", "it-forum-utveckling": "IT-forum utveckling", "it-styrgrupp": "IT-styrgrupp",
    "kommunstyrelsen-tranemo": "kommunstyrelsen Tranemo", "kommunstyrelsen-ulricehamn": "kommunstyrelsen Ulricehamn",
    "samverkansnamnd-it": "samverkansnämnd IT", "auditor": "revisor", "economy": "ekonomi",
    "provisioning": "provisionering (Entra ID)", "payroll": "löneadministration",
    "price_changed": "nytt pris", "month": "månad", "tertial": "tertial", "year": "år", "central": "central kostnad",
    "non_employee_account": "konto för icke anställd", "functional_mailbox": "funktionsadress",
    "program_installation": "installation av program", "physical_move": "flytt av utrustning",
    "tranemo": "Tranemo kommun", "ulricehamn": "Ulricehamns kommun", "workstation": "arbetsplatsdator",
    "teacher_computer": "lärardator", "student_computer": "elevdator", "tablet": "surfplatta", "printer": "skrivare",
    "access_point": "accesspunkt", "screen": "bildskärm", "mobile_phone": "mobiltelefon", "accessory": "tillbehör",
    "short_term_laptop": "korttidslånad bärbar dator",
    "start_work": "påbörja", "in_progress": "pågår", "submitted": "inskickad",
    # agreements (AG-1 … AG-8), cloud moves, development cases, framework changes, premises, services (issue 23)
    "started": "påbörjat", "draw_up": "upprätta", "proposed": "föreslaget", "changes_requested": "ändringar begärda",
    "revise": "revidera", "approved": "godkänt", "take_effect": "träd i kraft", "effective": "gällande",
    "convene": "kalla till möte", "convened": "möte kallat", "record_meeting": "registrera möte",
    "remind": "påminn", "consulting": "samråd pågår", "record_consultation": "registrera samråd",
    "assessing": "bedöms", "record_classification": "registrera klassning (KLASSA)",
    "record_security_analysis": "registrera säkerhetsanalys", "record_legal_review": "registrera juridisk granskning",
    "record_cost_analysis": "registrera kostnadsanalys", "approve_move": "godkänn flytt", "reject_move": "avslå flytt",
    "move_approved": "flytt godkänd", "move_rejected": "flytt avslagen", "draw_up_agreement": "upprätta avtal",
    "agreement_drawn_up": "avtal upprättat", "complete": "slutför", "completed": "slutfört", "withdraw": "dra tillbaka",
    "withdrawn": "tillbakadraget", "rejected": "avslaget", "to_forum": "till IT-forum", "at_forum": "hos IT-forum",
    "to_steering_group": "till IT-styrgruppen", "to_strategist": "till strategen", "with_strategist": "hos strategen",
    "in_preparation": "under beredning", "forum_prepare": "bered i IT-forum", "at_boards": "hos kommunstyrelserna",
    "board_approve": "godkänn i kommunstyrelsen", "board_reject": "avslå i kommunstyrelsen",
    "at_committee": "hos nämnden", "committee_decide": "besluta i nämnden", "committee_reject": "avslå i nämnden",
    "decided": "beslutat", "in_force": "gäller", "supersede": "ersätt", "superseded": "ersatt",
    "invited": "inbjuden", "attend_meeting": "delta i möte", "record_requirements": "registrera krav",
    "requirements_recorded": "krav registrerade", "submit_design": "lämna in ritning",
    "design_submitted": "ritning inlämnad", "approve_design": "godkänn ritning", "reject_design": "avslå ritning",
    "design_approved": "ritning godkänd", "install_racks": "installera rack", "racks_installed": "rack installerade",
    "deliver_connection": "leverera anslutning", "record_reserve_power": "registrera reservkraft",
    "mount_equipment": "montera utrustning", "equipment_mounted": "utrustning monterad",
    "declare_ready": "förklara klar", "ready": "klar", "needs_definition": "behöver beskrivas",
    "describe": "beskriv", "awaiting_description": "väntar på beskrivning", "set_price": "sätt pris",
    "awaiting_price": "väntar på pris", "priced": "prissatt", "agreement_started": "avtal påbörjat",
    "buyout_expired": "utköpserbjudandet har gått ut", "complete_buyout": "slutför utköp", "end_rental": "avsluta hyra",
    "replacement_delivered": "ersättning levererad", "returned_under_notice": "återlämnad efter uppsägning",
    "prepared": "berett",
    "development_case": "utvecklingsärende", "framework_change": "ändring av ramverket", "agreement": "avtal", "registered": "registrerat", "approve": "godkänn", "reject": "avslå",
}


def name(code: str | None, lang: str) -> str:
    """`tilldela (assign)` in Swedish; the code alone in English."""
    if not code:
        return "–"
    swedish = NAMES_SV.get(code)
    return f"{swedish} ({code})" if lang == "sv" and swedish else code.replace("_", " ") if lang == "en" else code


# The invoice basis's line texts as billing stores them (db/billing_*: English, the API's words) and in Swedish
# (issue 23: the HTML invoice basis in Swedish); the article code and the numbers stay as they are.
LINE_TEXT_SV = (("Rent ", "Hyra "), ("Service fee ", "Serviceavgift "), ("Purchase ", "Köp "),
                ("Short-term rental ", "Korttidshyra "), ("On-call work (TK-8) ", "Jourarbete (TK-8) "),
                ("Physical move (TK-12) ", "Flytt (TK-12) "), ("Extra support (EQ-13) ", "Extra stöd (EQ-13) "))


def line_text(text: str | None, lang: str = "sv") -> str:
    """An invoice line's text in the page's language: `Hyra LAT-5450 ORD-1`, `… 90 min arbetad tid`."""
    if not text or lang != "sv":
        return text or "–"
    for english, swedish in LINE_TEXT_SV:
        if text.startswith(english):
            text = swedish + text[len(english):]
            break
    return text.replace(" min worked", " min arbetad tid")


def person(item: dict, role: str) -> str:
    """A person as the console shows them (issue 22): name and employee number, the number alone when the
    people register has no name for it."""
    ref, name = item.get(f"{role}_ref"), item.get(f"{role}_name")
    return f"{name} ({ref})" if ref and name else ref or "–"
