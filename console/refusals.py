"""The API's refusals in Swedish (issue 23): the rules' messages, the access policy's and pydantic's validation
messages as the console shows them. The API keeps answering in English (it is what the audit log and other
callers read); the console translates what it knows and keeps the rule id (`regel EQ-11`) and the field.

`swedish(message)` is the Swedish text of one API message, or None when the catalogue does not know it; the
console then shows the API's own words (tests/console/test_console_swedish.py fails on such a message)."""
from __future__ import annotations

import re
from typing import Any

from console.i18n import name as state_name

# The machines' condition messages (domain/*: each GuardedProcess's `condition_messages`), word for word.
CONDITIONS: dict[str, str] = {
    "rule AG-4: that party has already approved, or the actor is not the agreement's system owner":
        "regel AG-4: den parten har redan godkänt, eller så är du inte avtalets systemägare",
    "rule AG-4: both IT and the system owner approve": "regel AG-4: både IT och systemägaren godkänner",
    "rule AG-8: KLASSA classification, security analysis, legal review and economic cost analysis must all be "
    "recorded before the decision": "regel AG-8: KLASSA-klassning, säkerhetsanalys, juridisk granskning och "
                                    "ekonomisk kostnadsanalys ska alla vara registrerade före beslutet",
    "rule AG-8: the security analysis or the legal review found an obstacle":
        "regel AG-8: säkerhetsanalysen eller den juridiska granskningen fann ett hinder",
    "rule AG-8: internal costs remain, an agreement is drawn up":
        "regel AG-8: interna kostnader kvarstår, ett avtal upprättas",
    "rule AG-8: no internal costs remain": "regel AG-8: inga interna kostnader kvarstår",
    "rule GV-3: below the threshold": "regel GV-3: under beloppsgränsen",
    "rule GV-3: at or above the threshold": "regel GV-3: på eller över beloppsgränsen",
    "rule EQ-8: notice can only be given on rented equipment": "regel EQ-8: bara hyrd utrustning kan sägas upp",
    "rule EQ-11: only computers can be bought out": "regel EQ-11: bara datorer kan köpas ut",
    "rule EQ-11: only a computer whose rental has ended, at hardware replacement, can be bought out; an early "
    "return is not a buyout case": "regel EQ-11: bara en dator vars hyrtid har gått ut kan köpas ut, vid "
                                   "maskinbyte; en tidig återlämning är inget utköpsfall",
    "rule EQ-12: the erasure certificate must come from the vendor the device was sent to":
        "regel EQ-12: raderingsintyget ska komma från den leverantör som utrustningen skickades till",
    "rule EQ-8": "regel EQ-8",
    "rule EQ-11: a computer is first offered to its own user; others may buy it once declined":
        "regel EQ-11: en dator erbjuds först sin egen användare; andra får köpa den när hen har tackat nej",
    "rule EQ-11: no accepted buyer": "regel EQ-11: ingen köpare har tackat ja",
    "rule EQ-11: an employee has accepted the buyout; the device goes to them":
        "regel EQ-11: en medarbetare har tackat ja till utköpet; utrustningen går till hen",
    "rule EQ-10: only smartphones and tablets go to environmental recycling":
        "regel EQ-10: bara smartphones och surfplattor går till miljöåtervinning",
    "rule EQ-9: record the police-report reference before the settlement":
        "regel EQ-9: registrera polisanmälans nummer före regleringen",
    "rule GV-2: that municipality's kommunstyrelse has already approved this round":
        "regel GV-2: den kommunens kommunstyrelse har redan godkänt denna omgång",
    "rule GV-2: both kommunstyrelser approve": "regel GV-2: båda kommunstyrelserna godkänner",
    "rule FC-2: the property owner installs the racks IT asked for":
        "regel FC-2: fastighetsägaren installerar de rack som IT begärt",
    "rule FC-1: the address needs its fixed network connection delivered first":
        "regel FC-1: adressen behöver först få sin fasta nätanslutning levererad",
    "rule FC-3: the site class's reserve power is not in place": "regel FC-3: platsklassens reservkraft finns inte",
    "rules TK-12, EQ-13: a physical move or extra support is charged per hour; give minutes_worked":
        "regler TK-12, EQ-13: flytt eller extra stöd debiteras per timme; ange minutes_worked (minuter)",
    "rule TK-7: IT owns this request under the device's support level":
        "regel TK-7: IT äger denna beställning enligt utrustningens stödnivå",
    "rule TK-2: only the 3rd line transfers, to the other 3rd-line team":
        "regel TK-2: bara 3:e linjen överför, till det andra teamet i 3:e linjen",
    "rule TK-8: an on-call ticket needs minutes_worked for the unit's charge":
        "regel TK-8: ett jourärende behöver minutes_worked (minuter) för enhetens debitering",
    "rule TK-7: IT owns this matter under the device's support level":
        "regel TK-7: IT äger detta ärende enligt utrustningens stödnivå",
    # the machines' own refusals written out in their code (domain/tickets.py TicketProcess.refusal)
    "rule TK-2: the 3rd line is the last line; transfer the ticket to the other 3rd-line team instead":
        "regel TK-2: 3:e linjen är den sista; överför ärendet till det andra teamet i 3:e linjen i stället",
}

WHAT = {"ticket": "ärende", "device": "utrustning", "unit": "enhet", "person": "person", "model": "modell",
        "agreement": "avtal", "attachment": "bilaga", "invoice basis": "fakturaunderlag", "import": "import",
        "incident": "driftstörning", "move": "flytt", "municipality": "kommun", "billing run": "faktureringskörning",
        "service request": "tjänstebeställning", "proposal": "förslag", "case": "ärende"}
_WHAT = "|".join(sorted(map(re.escape, WHAT), key=len, reverse=True))


def _event(match: re.Match, key: str = "event") -> str:
    return state_name(match.group(key), "sv")


def _states(text: str) -> str:
    return ", ".join(state_name(s.strip(), "sv") for s in text.split(",") if s.strip())


# (pattern over the whole message, its Swedish); a callable gets the match. Field prefixes (`unit_id: …`)
# are kept as they are: they name the form's field.
PATTERNS: list[tuple[re.Pattern, Any]] = [(re.compile(p, re.S), sv) for p, sv in [
    (r"event '(?P<event>\w+)' is not allowed in state '(?P<state>\w+)' \(allowed from: (?P<from>[^;]*); "
     r"rule (?P<rule>[^)]*)\)",
     lambda m: (f"händelsen {_event(m)} är inte tillåten i läget {_event(m, 'state')} (tillåten från: "
                f"{_states(m['from'])}; regel {m['rule']})")),
    (r"event '(?P<event>\w+)' refused in state '(?P<state>\w+)': (?P<why>.*)",
     lambda m: (f"händelsen {_event(m)} nekades i läget {_event(m, 'state')}: "
                f"{swedish(m['why']) or with_rules_in_swedish(m['why'])}")),
    (r"event '(?P<event>\w+)' refused in state '(?P<state>\w+)'",
     lambda m: f"händelsen {_event(m)} nekades i läget {_event(m, 'state')}"),
    (r"unknown event '(?P<event>\w+)' for (?P<process>\w+)",
     lambda m: f"okänd händelse '{m['event']}' för {state_name(m['process'], 'sv')}"),
    (r"rule TK-2: the ticket is already in the 3rd line \((?P<line>\w+)\); transfer it",
     lambda m: f"regel TK-2: ärendet är redan i 3:e linjen ({m['line']}); överför det i stället"),
    (r"rule TK-2: from the (?P<line>.+?) a ticket escalates to (?P<to>.+)",
     lambda m: f"regel TK-2: från {m['line']} eskaleras ett ärende till {m['to'].replace(' or ', ' eller ')}"),
    (r"rule TK-7: on a (?P<level>.+?) the unit starts troubleshooting and continues with IT's help; report again "
     r"once the unit has started", "regel TK-7: på {level} börjar enheten felsöka och fortsätter med IT:s hjälp; "
                                  "anmäl igen när enheten har börjat"),
    (r"rule TK-7: on a (?P<level>.+?) the unit owns '(?P<what>.+)'", "regel TK-7: på {level} äger enheten '{what}'"),
    (r"(?P<why>.+); hand the ticket back to the unit instead of escalating",
     lambda m: f"{swedish(m['why']) or with_rules_in_swedish(m['why'])}; lämna tillbaka ärendet till enheten i "
               "stället för att eskalera"),
    (r"decided_on: rule GV-2: (?P<d>[\d-]+) is in the future", "decided_on: regel GV-2: {d} ligger i framtiden"),
    (r"decided_on: rule GV-2: (?P<d>[\d-]+) is before the previous step's decision \((?P<e>[\d-]+)\); decisions "
     r"follow the chain's order", "decided_on: regel GV-2: {d} är före föregående stegs beslut ({e}); besluten "
                                  "följer kedjans ordning"),
    (r"rule FC-3: a (?P<site>\S+) needs (?P<power>\S+); recorded: (?P<rec>.*)",
     "regel FC-3: en {site} kräver {power}; registrerat: {rec}"),
    (r"count: rule FC-2: IT asked for (?P<n>\d+) racks", "count: regel FC-2: IT begärde {n} rack"),
    (r"rule EQ-11: only the offered employee answers this buyout offer",
     "regel EQ-11: bara den medarbetare som fått erbjudandet svarar på det"),
    (r"(?P<f>[\w.]+): no (?P<what>" + _WHAT + r") (?P<v>.+)", lambda m: f"{m['f']}: {WHAT[m['what']]} {m['v']} finns "
                                                                         "inte, eller så får du inte se den"),
    (r"(?P<f>[\w.]+): unknown (?P<what>" + _WHAT + r") (?P<v>.+)", lambda m: f"{m['f']}: okänd {WHAT[m['what']]} "
                                                                              f"{m['v']}"),
    (r"(?P<f>[\w.]+): you act for unit (?P<own>\S+) only, not (?P<v>.+)",
     "{f}: du företräder bara enheten {own}, inte {v}"),
    (r"roles: (?P<what>.+) needs one of (?P<roles>\[.*\])", "behörighet: {what} kräver en av rollerna {roles}"),
    (r"(?P<f>[\w.]+): the process has ended \((?P<why>.*)\)", "{f}: processen är avslutad ({why})"),
    (r"(?P<f>[\w.]+): must not be in the future", "{f}: får inte ligga i framtiden"),
    (r"applicant_ref: the applicant is the signed-in user \(rule TK-9\)",
     "applicant_ref: sökande är den som är inloggad (regel TK-9)"),
    (r"unit_id: you are neither the manager of (?P<unit>.+) nor designated by them \(rule TK-9\)",
     "unit_id: du är varken chef för {unit} eller utsedd av chefen (regel TK-9)"),
    (r"rule TK-9: only the manager of (?P<unit>.+) designates applicants",
     "regel TK-9: bara chefen för {unit} utser sökande"),
    (r"unit_id: you report for your own unit only, not (?P<unit>'[^']*')(?P<rest>.*)",
     "unit_id: du anmäler bara för din egen enhet, inte {unit}"),
    (r"reporter_ref, unit_id: you report for yourself(?P<rest>.*)", "reporter_ref, unit_id: du anmäler för dig själv"),
    (r"action\.vendor: (?P<v>.+) is not a certified erasure vendor \(rule EQ-12\)",
     "action.vendor: {v} är ingen certifierad raderingsleverantör (regel EQ-12)"),
    (r"(?P<f>[\w.]+): already in use; choose another", "{f}: används redan; välj ett annat"),
    (r"(?P<f>[\w.]+): the process cannot answer this view", "{f}: processen kan inte svara just nu"),
    (r"(?P<f>[\w.]+): (?P<body>.+) \(the process cannot answer this view\)",
     "{f}: processen kan inte svara just nu"),
    (r"temporarily unavailable: (?P<what>.+?); retry after (?P<s>\d+) s.*",
     "tillfälligt otillgängligt ({what}); försök igen om {s} sekunder"),
    (r"unknown query parameter '(?P<p>\w+)'.*", "okänd sökparameter '{p}'"),
    (r"Value error, (?P<rest>.*)", lambda m: swedish(m["rest"]) or m["rest"]),
    (r"value is not a valid email address: .*", "ogiltig e-postadress"),
]]

# pydantic's validation messages by their `type` (ctx values are filled in); the field path is kept.
PYDANTIC: dict[str, str] = {
    "missing": "måste anges", "extra_forbidden": "okänt fält (finns inte i formuläret)",
    "string_too_short": "för kort (minst {min_length} tecken)",
    "string_too_long": "för lång (högst {max_length} tecken)",
    "string_pattern_mismatch": "har fel form (ska matcha {pattern})", "string_type": "ska vara text",
    "enum": "ska vara en av {expected}", "literal_error": "ska vara en av {expected}",
    "int_parsing": "ska vara ett heltal", "int_type": "ska vara ett heltal", "float_parsing": "ska vara ett tal",
    "decimal_parsing": "ska vara ett tal", "decimal_type": "ska vara ett tal",
    "decimal_max_places": "högst {decimal_places} decimaler", "decimal_max_digits": "högst {max_digits} siffror",
    "bool_parsing": "ska vara ja eller nej", "bool_type": "ska vara ja eller nej",
    "date_parsing": "ska vara ett datum (ÅÅÅÅ-MM-DD)", "date_from_datetime_parsing": "ska vara ett datum (ÅÅÅÅ-MM-DD)",
    "date_type": "ska vara ett datum (ÅÅÅÅ-MM-DD)", "datetime_parsing": "ska vara datum och tid",
    "datetime_from_date_parsing": "ska vara datum och tid", "datetime_type": "ska vara datum och tid",
    "timezone_aware": "ange tidszon", "greater_than_equal": "ska vara minst {ge}",
    "greater_than": "ska vara större än {gt}", "less_than_equal": "får vara högst {le}",
    "less_than": "ska vara mindre än {lt}", "too_short": "för få (minst {min_length})",
    "too_long": "för många (högst {max_length})", "list_type": "ska vara en lista",
    "dict_type": "ska vara ett objekt", "model_type": "ska vara ett objekt",
    "model_attributes_type": "ska vara ett objekt",
    "union_tag_invalid": "okänd händelse {tag} (ska vara en av {expected_tags})",
    "union_tag_not_found": "{discriminator} saknas", "json_invalid": "ogiltig JSON",
    "uuid_parsing": "ska vara ett UUID", "url_parsing": "ska vara en webbadress",
}
RULE = re.compile(r"\brules? (?=[A-Z]{2}-\d)")


def swedish(message: str) -> str | None:
    """The Swedish text of one API message; None when unknown."""
    text = message.strip()
    if text in CONDITIONS:
        return CONDITIONS[text]
    for pattern, sv in PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return sv(match) if callable(sv) else sv.format(**match.groupdict())
    return None


def pydantic_swedish(item: dict) -> str | None:
    """One pydantic validation item (`type`, `msg`, `ctx`) in Swedish; None when unknown."""
    template = PYDANTIC.get(str(item.get("type")))
    if template is not None:
        try:
            return template.format(**(item.get("ctx") or {}))
        except (KeyError, IndexError):
            return template.split(" (")[0]
    return swedish(str(item.get("msg", "")))


def with_rules_in_swedish(text: str) -> str:
    """`rule EQ-11` → `regel EQ-11` in a text otherwise left as it is."""
    return RULE.sub(lambda m: "regler " if m.group(0).startswith("rules") else "regel ", text)


def refusal_text(body: Any, status: int, lang: str) -> str:
    """The refusal as the console shows it: Swedish when known (the rule id kept), else the API's words (with
    `regel` for `rule`); English: the API's own words."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        parts = []
        for item in detail:
            where = ".".join(str(p) for p in item.get("loc", [])[1:]) if isinstance(item, dict) else ""
            if not isinstance(item, dict):
                parts.append(str(item))
                continue
            said = (pydantic_swedish(item) if lang == "sv" else None) or str(item.get("msg"))
            parts.append(f"{where}: {said}" if where else said)
        return "; ".join(parts)
    if detail:
        text = str(detail)
        return (swedish(text) or with_rules_in_swedish(text)) if lang == "sv" else text
    return f"HTTP {status}"


def said(text: str | None, lang: str) -> str:
    """A stored refusal's message (the timeline's refused attempts) as the console shows it."""
    if not text:
        return "–"
    return (swedish(text) or with_rules_in_swedish(text)) if lang == "sv" else text
