"""The billing API over the real (time-skipping) server: runs, bases with lines and changes, the CSV an
economy system imports, the HTML basis and the forecast (BL-1 … BL-6, EQ-5)."""
from __future__ import annotations

import csv
import io
from datetime import date

from tests.billing.helpers import add_rental


async def test_bl5_bl4_api_runs_a_closed_month_and_exports_the_csv(api, sessions):
    with sessions.begin() as s:
        add_rental(s, "UL-1", "UL-KS", date(2026, 3, 10))
    started = await api.post("/billing/runs", json={"municipality": "ulricehamn", "period": "2026-03"})
    assert started.status_code == 201, started.text
    assert started.json()["run_id"] == "billing-ulricehamn-2026-03"
    again = await api.post("/billing/runs", json={"municipality": "ulricehamn", "period": "2026-03"})
    assert [b["basis_id"] for b in again.json()["bases"]] == [b["basis_id"] for b in started.json()["bases"]]
    run = (await api.get("/billing/runs/billing-ulricehamn-2026-03")).json()
    assert run["status"] == "published"
    [ks] = (await api.get("/billing/bases", params={"municipality": "ulricehamn", "period": "2026-03",
                                                    "unit_id": "UL-KS"})).json()
    assert ks["total"] == "298.06" and [i["change"] for i in ks["changes"]["items"]] == ["added"]
    assert ks["lines"][0]["quantity"] == "0.7097"
    page = await api.get(f"/billing/bases/{ks['id']}.html")
    assert page.status_code == 200 and "298,06 kr" in page.text and "Added" in page.text
    # a unit manager reads their own unit's basis; another unit's is not there for them
    own = api.bearer("E2001", "unit-manager", unit="UL-KS")
    other = api.bearer("E2002", "unit-manager", unit="UL-BUF")
    assert (await api.get(f"/billing/bases/{ks['id']}.html", headers=own)).status_code == 200
    assert (await api.get(f"/billing/bases/{ks['id']}", headers=other)).status_code == 404
    assert (await api.get("/billing/bases", params={"municipality": "ulricehamn", "period": "2026-03"},
                          headers=other)).json() == []
    # the economy staff export the CSV; IT runs billing but does not export it
    assert (await api.get("/billing/ulricehamn/2026-03/export.csv")).status_code == 403
    export = await api.get("/billing/ulricehamn/2026-03/export.csv", headers=api.bearer("ek.eva", "economy"))
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["period", "cost_centre", "article", "text", "quantity", "quantity_exact", "unit_price", "amount"]
    assert ["2026-03", "UL-KS", "rent:workstation"] == rows[1][:3]
    assert rows[1][4:] == ["0,7097", "22/31", "420,00", "298,06"]  # issue 25: Swedish CSV, the exact quantity


async def test_bl2_api_refuses_open_periods_and_the_other_municipalitys_cycle(api):
    for body, field in (({"municipality": "tranemo", "period": "2026-03"}, "period"),
                        ({"municipality": "ulricehamn", "period": "2099-01"}, "not closed"),
                        ({"municipality": "borås", "period": "2026-01"}, "municipality")):
        answer = await api.post("/billing/runs", json=body)
        assert answer.status_code == 422 and field in answer.json()["detail"]
    assert (await api.get("/billing/runs/nope")).status_code == 404


async def test_eq5_api_forecast_json_csv_and_svg(api, sessions):
    with sessions.begin() as s:
        add_rental(s, "UL-W", "UL-KS", date(2023, 5, 2))  # 48 months: due 2027-05-02
    rows = (await api.get("/billing/forecast/ulricehamn", params={"from_year": 2026})).json()
    due = [(r["year"], r["unit_id"], [d["order_number"] for d in r["due"]]) for r in rows if r["due"]]
    assert due == [(2027, "UL-KS", ["UL-W"])]
    ks2027 = next(r for r in rows if r["year"] == 2027 and r["unit_id"] == "UL-KS")
    # the replacement is what renew_now orders (EQ-2, EQ-5, issue 25): the preferred workstation of the
    # device's own form factor, a LAT-5450 laptop at 420 × 48 months; rent 2027: 12 × 420
    assert (ks2027["replacement_cost"], ks2027["rent"]) == ("20160.00", "5040.00")
    assert ks2027["due"][0]["replacement_model"] == "LAT-5450"
    text = (await api.get("/billing/forecast/ulricehamn.csv", params={"from_year": 2026})).content.decode("utf-8-sig")
    assert "2027;UL-KS;1;20160,00;5040,00" in text
    svg = await api.get("/billing/forecast/ulricehamn.svg", params={"from_year": 2026})
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in svg.text and "2029" in svg.text
