"""Reference data for an empty database: the two municipalities, their units, certified erasure
vendors, the model catalogue and this year's price list (rules EQ-1 … EQ-5)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import CatalogueModelRow, ErasureVendor, Municipality, PriceRow, RenewalPolicy, Unit
from domain.catalogue import CatalogueModel, Category, Price, check_price

MUNICIPALITIES = {"tranemo": "Tranemo kommun", "ulricehamn": "Ulricehamns kommun"}

UNITS = [
    ("TR-KS", "tranemo", "Kommunstyrelsens förvaltning", "E1001"),
    ("TR-BUF", "tranemo", "Barn- och utbildningsförvaltningen", "E1002"),
    ("TR-SOC", "tranemo", "Socialförvaltningen", "E1003"),
    ("TR-SBF", "tranemo", "Samhällsbyggnadsförvaltningen", "E1004"),
    ("TR-IT", "tranemo", "IT-enheten, korttidslån (EQ-14)", "E1005"),
    ("UL-KS", "ulricehamn", "Kommunledningsförvaltningen", "E2001"),
    ("UL-BUF", "ulricehamn", "Barn- och utbildningsförvaltningen", "E2002"),
    ("UL-VOF", "ulricehamn", "Vård- och omsorgsförvaltningen", "E2003"),
    ("UL-SBF", "ulricehamn", "Samhällsbyggnadsförvaltningen", "E2004"),
    ("UL-IT", "ulricehamn", "IT-enheten, korttidslån (EQ-14)", "E2005"),
]

ERASURE_VENDORS = [
    ("Certus Datadestruktion AB", "ADISA Asset Recovery Standard 8.0", True),
    ("Inrego AB", "Blancco-certifierad radering", True),
    ("Billig Skrot HB", None, False),
]

D = Decimal
# code, name, category, life, warranty, agreement, OS, prices
CATALOGUE = [
    ("LAT-5450", "Dell Latitude 5450", Category.WORKSTATION, 60, 36, "ADDA-KLIENT-2023", "Windows 11 Pro",
     dict(monthly_rent=D("420.00"))),
    ("OPT-7020", "Dell OptiPlex 7020", Category.WORKSTATION, 60, 36, "ADDA-KLIENT-2023", "Windows 11 Pro",
     dict(monthly_rent=D("360.00"))),
    ("TP-E14", "Lenovo ThinkPad E14 (lärardator)", Category.TEACHER_COMPUTER, 48, 36, "ADDA-KLIENT-2023",
     "Windows 11 Education", dict(monthly_rent=D("310.00"))),
    ("CB-314", "Acer Chromebook 314 (1:1)", Category.STUDENT_COMPUTER, 48, 24, "ADDA-KLIENT-2023", "ChromeOS",
     dict(monthly_rent=D("120.00"))),
    ("IPAD-10", "Apple iPad 10.9", Category.TABLET, 48, 12, "ADDA-MOBIL-2024", "iPadOS",
     dict(monthly_rent=D("150.00"))),
    ("IPHONE-15", "Apple iPhone 15", Category.MOBILE_PHONE, 36, 12, "ADDA-MOBIL-2024", "iOS",
     dict(purchase_price=D("8995.00"), monthly_service_fee=D("95.00"))),
    ("MFP-C400", "Kyocera Ecosys MA4000", Category.PRINTER, 60, 24, "ADDA-PRINT-2022", None,
     dict(monthly_rent=D("540.00"))),
    ("P2425", "Dell P2425H 24\"", Category.SCREEN, 72, 36, "ADDA-KLIENT-2023", None, dict(monthly_rent=D("45.00"))),
    ("AP-U6", "Ubiquiti U6 Pro", Category.ACCESS_POINT, 60, 24, "ADDA-NAT-2023", None,
     dict(monthly_rent=D("85.00"), installation_fee=D("1450.00"))),
    ("HS-EVOLVE", "Jabra Evolve2 40 headset", Category.ACCESSORY, 36, 24, "ADDA-KLIENT-2023", None,
     dict(purchase_price=D("690.00"))),
    ("LOAN-LAT", "Korttidslån Latitude 3450", Category.SHORT_TERM_LAPTOP, 48, 36, "ADDA-KLIENT-2023",
     "Windows 11 Pro", dict(weekly_rent=D("250.00"))),
    ("CAM-AXIS", "Axis M3086-V", Category.SURVEILLANCE_CAMERA, 60, 36, "ADDA-NAT-2023", None,
     dict(monthly_rent=D("130.00"))),
]
# rule EQ-5: a replacement keeps the form factor of the device it replaces
FORM_FACTORS = {"LAT-5450": "laptop", "OPT-7020": "desktop", "TP-E14": "laptop", "CB-314": "laptop",
                "LOAN-LAT": "laptop"}


def unit_mailbox(unit_id: str, municipality: str) -> str:
    """A placeholder functional mailbox (issue 21) under the reserved .example domain (RFC 2606): TR-KS →
    ks@tranemo.example. IT sets the real one; migration 0015 fills existing units the same way."""
    return f"{unit_id.split('-', 1)[1].lower()}@{municipality}.example"


def load_reference_data(sessions: sessionmaker[Session], year: int) -> bool:
    """Load everything once; returns False when the database already has municipalities."""
    with sessions.begin() as s:
        if s.scalar(select(Municipality.code).limit(1)) is not None:
            return False
        s.add_all(Municipality(code=code, name=name) for code, name in MUNICIPALITIES.items())
        s.flush()
        s.add_all(Unit(id=i, municipality=m, name=n, manager_ref=mgr, mailbox=unit_mailbox(i, m)) for i, m, n, mgr in UNITS)
        s.add_all(ErasureVendor(name=n, certification=c, certified=ok) for n, c, ok in ERASURE_VENDORS)
        for code, name, category, life, warranty, agreement, os_name, prices in CATALOGUE:
            model = CatalogueModel(code=code, name=name, category=category, expected_life_months=life,
                                   warranty_months=warranty, agreement_ref=agreement, original_os=os_name,
                                   form_factor=FORM_FACTORS.get(code))
            s.add(CatalogueModelRow(**model.model_dump(mode="python") | {"category": category.value}))
            price = Price(year=year, model_code=code, **prices)
            check_price(category, price)
            s.add(PriceRow(**price.model_dump()))
        s.flush()
        for municipality in MUNICIPALITIES:
            # rule EQ-5: workstations renew after 48 months; student computers per municipality agreement
            s.add(RenewalPolicy(category=Category.WORKSTATION.value, municipality=municipality, renewal_months=48))
        s.add(RenewalPolicy(category=Category.STUDENT_COMPUTER.value, municipality="ulricehamn", renewal_months=36))
        load_agreement_reference_data(s, year)
        return True


# --- application agreements and the framework (rules AG-1 … AG-6, GV-1) ----------------------
# rule AG-5: the application price list, annual SEK per unit (item = cost component, AG-2)
APPLICATION_PRICES = [
    ("server", "virtual server", D("9600.00")),
    ("database", "database instance", D("6000.00")),
    ("integrations", "integration", D("4800.00")),
    ("storage", "GB", D("12.50")),
    ("communication", "connection", D("2400.00")),
    ("backup", "GB", D("4.75")),
    ("support", "hour", D("780.00")),
    ("support_tools", "licence", D("1150.00")),
]

SAMPLE_AGREEMENTS = [
    dict(agreement_id="APP-TRESERVA", application="Treserva", unit_id="UL-VOF", system_owner_ref="E2003",
         description="Verksamhetssystem för vård och omsorg", it_responsibilities=["Drift, backup och patchning"],
         unit_responsibilities=["Behörigheter, rutiner och verksamhetsstöd"],
         cost_lines=[dict(component="server", quantity="2"), dict(component="database", quantity="1"),
                     dict(component="storage", quantity="250"), dict(component="backup", quantity="250"),
                     dict(component="support", quantity="40")],
         sketch=dict(components=[dict(id="klient", label="Webbklient", kind="client"),
                                 dict(id="app", label="Applikationsserver"),
                                 dict(id="db", label="SQL Server", kind="database")],
                     relations=[dict(source="klient", target="app", label="HTTPS"),
                                dict(source="app", target="db")])),
    dict(agreement_id="INT-LON-EKONOMI", application="Lönefil till ekonomisystemet", unit_id="TR-KS",
         system_owner_ref="E1001", application_kind="integration", variant="light",
         cost_lines=[dict(component="integrations", quantity="1"), dict(component="support", quantity="4")]),
]


def load_agreement_reference_data(s: Session, year: int) -> None:
    """The base framework version (Ramuppdrag IT 2022) with its parameters, the application price list
    of `year` and two agreements in force since 1 January of `year`. Skips what is there already."""
    from datetime import date, datetime, timezone

    from db.agreement_models import (
        AgreementCostLineRow,
        AgreementRow,
        AgreementVersionRow,
        ApplicationPriceRow,
        FrameworkVersionRow,
    )
    from domain.agreements import AgreementContent
    from domain.costing import PriceItem, PriceList, compute_cost
    from domain.framework_changes import FrameworkParameters

    now = datetime.now(timezone.utc)
    if s.get(FrameworkVersionRow, "ramuppdrag-2022") is None:
        s.add(FrameworkVersionRow(
            id="ramuppdrag-2022", title="Riktlinjer för Ramuppdrag it 2022", kind="base",
            effective_from=date(2022, 1, 1), decided_on=date(2021, 12, 1), status="in_force",
            parameters=FrameworkParameters(price_list_year=year).model_dump(mode="json"), services=[],
            activated_at=now))
    items = {}
    for item, unit, price in APPLICATION_PRICES:
        items[item] = PriceItem(item=item, component=item, unit=unit, unit_price=price, year=year)
        if s.get(ApplicationPriceRow, (year, item)) is None:
            s.add(ApplicationPriceRow(year=year, item=item, component=item, unit=unit, unit_price=price,
                                      set_by="seed"))
    for data in SAMPLE_AGREEMENTS:
        content = AgreementContent.model_validate(data)
        if s.get(AgreementRow, content.agreement_id) is not None:
            continue
        cost = compute_cost(content.cost_lines, PriceList(year=year, items=items))
        s.add(AgreementRow(id=content.agreement_id, application=content.application,
                           application_kind=content.application_kind.value, variant=content.variant.value,
                           unit_id=content.unit_id, system_owner_ref=content.system_owner_ref, status="active",
                           created_at=now, current_version=1))
        s.flush()
        s.add(AgreementVersionRow(agreement_id=content.agreement_id, version=1, for_year=year,
                                  effective_from=date(year, 1, 1), price_year=year, total=cost.total,
                                  content=content.model_dump(mode="json"), approved_by={}, created_at=now))
        s.add_all(AgreementCostLineRow(agreement_id=content.agreement_id, version=1, item=line.item,
                                       component=line.component.value, quantity=line.quantity, unit=line.unit,
                                       unit_price=line.unit_price, price_year=line.price_year, amount=line.amount)
                  for line in cost.lines)


if __name__ == "__main__":
    from datetime import date

    from config import get_settings
    from db.session import make_sessionmaker

    loaded = load_reference_data(make_sessionmaker(get_settings().database_url), date.today().year)
    print("reference data loaded" if loaded else "reference data already present")
