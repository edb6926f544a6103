"""Invoice bases in the console without a browser (rules BL-4, BL-5): a unit manager's page lists their own
unit's bases only and answers another unit's as not found, in the API's words; economy sees all."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import httpx
import pytest

from api.auth import Principal
from api.main import create_app
from console.session import COOKIE
from db.billing_models import InvoiceBasisRow, InvoiceLineRow


def _basis(db, municipality: str, unit: str, amount: str) -> int:
    year = str(date.today().year - 1)  # last year's central cost, on the day the test runs (issue 20)
    row = InvoiceBasisRow(municipality=municipality, period=year, kind="central", unit_id=unit,
                          run_id=f"billing-{municipality}-{year}-central", total=Decimal(amount),
                          changes={"previous_period": None, "items": [{"change": "added", "kind": "central_cost",
                                                                       "reference": f"central:{year}",
                                                                       "article": "central_cost"}],
                                   "total_before": None, "total_after": amount},
                          created_at=datetime.now(timezone.utc), published_at=datetime.now(timezone.utc))
    db.add(row)
    db.flush()
    db.add(InvoiceLineRow(basis_id=row.id, key=f"central:{year}:{unit}", kind="central_cost", article="central_cost",
                          text="Central IT-kostnad", quantity=Decimal(1), unit_price=Decimal(amount),
                          amount=Decimal(amount)))
    db.commit()
    return row.id


@pytest.fixture
def console(settings, sessions, issuer):
    app = create_app(settings=settings, sessions=sessions)
    mounted = next(r.app for r in app.routes if getattr(r, "path", "") == "/console")
    with sessions() as db:
        ids = {"own": _basis(db, "tranemo", "TR-KS", "1150.00"), "other": _basis(db, "ulricehamn", "UL-KS", "2300.00")}

    async def as_(sub: str, roles: tuple[str, ...], unit: str | None = None) -> httpx.AsyncClient:
        token = issuer.mint(sub, roles, unit=unit)
        sid = await mounted.state.store.create(token, Principal(sub, frozenset(roles), unit=unit), 600)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:24602",
                                 cookies={COOKIE: sid}, timeout=30)

    return as_, ids


@pytest.mark.asyncio
async def test_bl5_unit_manager_lists_and_reads_only_their_own_units_basis(console):
    as_, ids = console
    async with await as_("E1001", ("unit-manager", "employee"), "TR-KS") as http:
        listed = (await http.get("/console/invoices")).text
        assert f'/console/invoices/{ids["own"]}"' in listed and f'/console/invoices/{ids["other"]}"' not in listed
        asked = await http.get("/console/invoices", params={"municipality": "ulricehamn", "unit_id": "UL-KS"})
        assert asked.status_code == 200 and "UL-KS" not in asked.text.split("<tbody>")[1]
        own = await http.get(f"/console/invoices/{ids['own']}")
        assert own.status_code == 200 and 'id="total">1\u00a0150,00\u00a0kr<' in own.text
        assert "Central IT-kostnad" in own.text and "tillkommit (added)" in own.text  # BL-4 change section
        other = await http.get(f"/console/invoices/{ids['other']}")
        assert other.status_code == 404 and "2\u00a0300" not in other.text and "UL-KS" not in other.text
        wrong = await http.get("/console/invoices/x")
        assert wrong.status_code == 422 and "basis_id" in wrong.text  # the API's words, on the console's page
        http.cookies.set("ramflow_lang", "en")
        english = await http.get(f"/console/invoices/{ids['own']}")
        assert "Invoice basis: TR-KS" in english.text and "Changes since the previous basis" in english.text


@pytest.mark.asyncio
async def test_bl5_economy_and_it_admin_read_every_units_basis(console):
    as_, ids = console
    for sub, roles in (("ekonomi.eva", ("economy",)), ("it.admin", ("it-staff", "it-admin"))):
        async with await as_(sub, roles) as http:
            listed = (await http.get("/console/invoices", params={"municipality": "ulricehamn"})).text
            assert f'/console/invoices/{ids["other"]}"' in listed
            other = await http.get(f"/console/invoices/{ids['other']}")
            assert other.status_code == 200 and 'id="total">2\u00a0300,00\u00a0kr<' in other.text
