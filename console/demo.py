"""Example data for the console on the embedded stack (the browser tests and the README's screenshots):
made through the API like any caller, with tokens of the local issuer.

    python -m console.demo            # against the stack `make run` started (API_PORT, OIDC_ISSUER)
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx

Token = Callable[..., str]  # token(sub, roles, unit=None, team=None) -> access token

IT = ("it.anna", ("it-staff", "it-admin"))


class Seeder:
    def __init__(self, base: str, token: Token) -> None:
        self.base = base.rstrip("/") + "/api/v1"
        self.token = token
        self.http = httpx.Client(timeout=30)

    def call(self, method: str, path: str, body: dict | None = None, user=IT, unit: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token(user[0], user[1], unit=unit)}"}
        answer = self.http.request(method, self.base + path, json=body, headers=headers)
        if answer.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json()

    def ticket(self, title: str, unit: str = "TR-KS", reporter: str = "E5001", **fields: Any) -> dict:
        return self.call("POST", "/tickets", {"unit_id": unit, "reporter_ref": reporter, "title": title, **fields})

    def device_event(self, order: str, action: dict, user=IT) -> dict:
        return self.call("POST", f"/devices/{order}/events", {"action": action}, user=user)

    def until(self, order: str, states: tuple[str, ...], seconds: float = 30) -> dict:
        end = time.monotonic() + seconds
        while True:
            view = self.call("GET", f"/devices/{order}")
            if view["state"] in states or time.monotonic() > end:
                return view
            time.sleep(0.2)

    def device_in_use(self, order: str, unit: str, user_ref: str | None, model: str = "LAT-5450") -> dict:
        self.call("POST", "/orders", {"order_number": order, "model_code": model, "unit_id": unit,
                                      "user_ref": user_ref})
        self.until(order, ("called_off",))
        self.device_event(order, {"event": "deliver", "serial_number": f"SN-{order}"})
        return self.until(order, ("in_use",))


def seed(base: str, token: Token) -> dict[str, str]:
    """Tickets on every line, devices of two units, a buyout offer to E5001 and one to E5002, a device written
    off (an ended process), a development case waiting for it-forum: the keys, by purpose."""
    s = Seeder(base, token)
    keys: dict[str, str] = {}
    keys["ticket_first"] = s.ticket("Outlook startar inte", function="email_calendar")["number"]
    week_ago = (datetime.now(timezone.utc) - timedelta(days=7)).isoformat(timespec="seconds")
    keys["ticket_breached"] = s.ticket("Kan inte logga in på datorn", function="workstation_login",
                                      reported_at=week_ago)["number"]  # TK-5: a phone call recorded late
    keys["ticket_plain"] = s.ticket("Ny skärm önskas", unit="UL-KS", reporter="E2101", support_level="managed")["number"]
    second = s.ticket("Skrivaren på plan 2 skriver inte ut", function="network_printing")["number"]
    s.call("POST", f"/tickets/{second}/events", {"action": {"event": "escalate", "to": "second_line"}})
    keys["ticket_second"] = second
    for order, unit, user in (("ORD-DEMO-1", "TR-KS", "E5001"), ("ORD-DEMO-2", "UL-KS", "E2101"),
                              ("ORD-DEMO-3", "TR-KS", "E5002"), ("ORD-DEMO-4", "TR-KS", "E5003")):
        s.device_in_use(order, unit, user)
    keys.update(own_device="ORD-DEMO-1", other_unit_device="ORD-DEMO-2", others_buyout="ORD-DEMO-3",
                closed_device="ORD-DEMO-4")
    for order in ("ORD-DEMO-1", "ORD-DEMO-3"):  # rule EQ-11: returned at hardware replacement, offered to its user
        s.device_event(order, {"event": "renew_now"})
        s.until(f"{order}-R1", ("called_off",))
        s.device_event(f"{order}-R1", {"event": "deliver", "serial_number": f"SN-{order}-R1"})
        s.until(order, ("returned",))
        s.device_event(order, {"event": "offer_buyout", "price": "1150.00"})
    s.device_event("ORD-DEMO-4", {"event": "report_lost"})  # rule EQ-9: lost, then written off (process ends)
    s.device_event("ORD-DEMO-4", {"event": "write_off"})
    case = f"DEV-{date.today().year}-7"
    s.call("POST", "/development-cases", {"case_id": case, "title": "E-tjänst för bygglov", "kind": "new_system_setup",
                                          "unit_id": "UL-SBF", "estimated_cost": "250000.00"})
    keys["development_case"] = case
    keys.update(invoice_bases(s))
    return keys


def invoice_bases(s: Seeder) -> dict[str, str]:
    """Rule BL-3: last year's central cost for one unit of each municipality, billed by a central run."""
    year, found = str(date.today().year - 1), {}
    for purpose, municipality, unit, amount in (("basis_own", "tranemo", "TR-KS", "1150.00"),
                                                ("basis_other_unit", "ulricehamn", "UL-KS", "2300.00")):
        basis = f"/billing/bases?municipality={municipality}&period={year}&unit_id={unit}&lines=false"
        if not s.call("GET", basis):  # rule BL-3: an invoiced year's share cannot change (a demo seeded again)
            s.call("PUT", f"/billing/central-costs/{year}/{unit}", {"amount": amount, "text": "Central IT-kostnad"})
        s.call("POST", "/billing/runs", {"municipality": municipality, "period": year, "kind": "central"})
        end = time.monotonic() + 60
        while not (bases := s.call("GET", f"/billing/bases?municipality={municipality}&period={year}"
                                          f"&unit_id={unit}&lines=false")) and time.monotonic() < end:
            time.sleep(0.5)  # a run that took longer than the API waits (202)
        found[purpose] = str(bases[0]["id"])
    return found


def main() -> int:
    from config import get_settings
    from scripts.local_issuer import request_token

    settings = get_settings()

    def token(sub: str, roles, unit: str | None = None, team: str | None = None) -> str:
        return request_token(settings.oidc_issuer, sub, ",".join(roles), unit or "", team or "")

    keys = seed(f"http://{settings.api_host}:{settings.api_port}", token)
    for purpose, key in keys.items():
        print(f"{purpose:20} {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
