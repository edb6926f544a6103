"""Equipment categories, their charging models and the model catalogue rules (EQ-1, EQ-3, EQ-4, EQ-5)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field, model_validator


class Charging(str, Enum):
    """How a category is charged to the unit (rule EQ-4)."""

    RENT = "rent"  # equipment cost + its support, per month while active
    PURCHASE_AND_SERVICE_FEE = "purchase_and_service_fee"  # mobile phones
    ONE_OFF = "one_off"  # accessories
    PER_WEEK = "per_week"  # short-term laptop rental, at least one week
    PRICE_LIST = "price_list"  # surveillance cameras
    PER_HOUR = "per_hour"  # services such as extra support or moves


class Category(str, Enum):
    WORKSTATION = "workstation"
    TEACHER_COMPUTER = "teacher_computer"
    STUDENT_COMPUTER = "student_computer"
    TABLET = "tablet"
    PRINTER = "printer"
    ACCESS_POINT = "access_point"
    SCREEN = "screen"
    MOBILE_PHONE = "mobile_phone"
    ACCESSORY = "accessory"
    SHORT_TERM_LAPTOP = "short_term_laptop"
    SURVEILLANCE_CAMERA = "surveillance_camera"


@dataclass(frozen=True)


class CategoryRules:
    charging: Charging
    min_life_months: int | None = None  # rule EQ-3
    computer: bool = False  # rule EQ-11: only computers can be bought out
    mdm: bool = False  # rule EQ-13: enrolled in MDM at delivery
    recyclable: bool = False  # rule EQ-10: phones and tablets go to environmental recycling
    installation_charged: bool = False  # rule EQ-4: access points
    default_renewal_months: int | None = None  # rule EQ-5


MIN_LIFE_MONTHS = 48  # rule EQ-3

CATEGORY_RULES: dict[Category, CategoryRules] = {
    Category.WORKSTATION: CategoryRules(Charging.RENT, MIN_LIFE_MONTHS, computer=True, default_renewal_months=48),
    Category.TEACHER_COMPUTER: CategoryRules(Charging.RENT, MIN_LIFE_MONTHS, computer=True),
    # rule EQ-3 names workstations, printers/copiers and screens; a student computer's life is agreed per
    # municipality (EQ-5: Ulricehamn renews them after 36 months), so no 48-month floor
    Category.STUDENT_COMPUTER: CategoryRules(Charging.RENT, computer=True),
    Category.TABLET: CategoryRules(Charging.RENT, mdm=True, recyclable=True),
    Category.PRINTER: CategoryRules(Charging.RENT, MIN_LIFE_MONTHS),
    Category.ACCESS_POINT: CategoryRules(Charging.RENT, installation_charged=True),
    Category.SCREEN: CategoryRules(Charging.RENT, MIN_LIFE_MONTHS),
    Category.MOBILE_PHONE: CategoryRules(Charging.PURCHASE_AND_SERVICE_FEE, mdm=True, recyclable=True),
    Category.ACCESSORY: CategoryRules(Charging.ONE_OFF),
    Category.SHORT_TERM_LAPTOP: CategoryRules(Charging.PER_WEEK),
    Category.SURVEILLANCE_CAMERA: CategoryRules(Charging.PRICE_LIST),
}


def rules_of(category: Category | str) -> CategoryRules:
    return CATEGORY_RULES[Category(category)]


FormFactor = Literal["laptop", "desktop"]


class CatalogueModel(BaseModel):
    """A model in IT's assortment (rule EQ-1), called off under a procured agreement (rule EQ-2)."""

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,39}$")
    name: str = Field(min_length=1, max_length=200)
    category: Category
    expected_life_months: int = Field(ge=1, le=240)
    warranty_months: int = Field(ge=0, le=240)
    agreement_ref: str = Field(min_length=1, max_length=80, description="procured agreement to call off under (EQ-2)")
    original_os: str | None = Field(None, max_length=80, description="OS reinstalled at buyout (EQ-11)")
    form_factor: FormFactor | None = Field(None, description="laptop or desktop: a replacement keeps it (EQ-5)")
    active: bool = True

    @model_validator(mode="after")
    def _long_enough(self) -> "CatalogueModel":
        check_min_life(self.category, self.expected_life_months)
        return self


def check_min_life(category: Category, expected_life_months: int) -> None:
    # rule EQ-3: workstations, printers and screens must last at least 48 months
    minimum = rules_of(category).min_life_months
    if minimum is not None and expected_life_months < minimum:
        raise ValueError(
            f"expected_life_months: rule EQ-3 requires a technical life of at least {minimum} months "
            f"for category {category.value}, got {expected_life_months}"
        )


def preferred_model(models: list[CatalogueModel], form_factor: str | None = None) -> CatalogueModel | None:
    """Rule EQ-2: prefer the model whose expected life exceeds its warranty the most, then the longest life.
    Rule EQ-5: a replacement keeps the replaced device's form factor (a laptop stays a laptop)."""
    active = [m for m in models if m.active and (form_factor is None or m.form_factor == form_factor)]
    if not active:
        return None
    return max(active, key=lambda m: (m.expected_life_months > m.warranty_months, m.expected_life_months, m.code))


class Price(BaseModel):
    """One model's price for one year (SEK, Decimal). Which fields apply depends on the charging model."""

    year: int = Field(ge=2000, le=2100)
    model_code: str = Field(min_length=1, max_length=40)
    monthly_rent: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)  # Numeric(12, 2)
    purchase_price: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)  # Numeric(12, 2)
    monthly_service_fee: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)  # Numeric(12, 2)
    weekly_rent: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)  # Numeric(12, 2)
    installation_fee: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)  # Numeric(12, 2)


REQUIRED_PRICE_FIELDS: dict[Charging, tuple[str, ...]] = {
    Charging.RENT: ("monthly_rent",),
    Charging.PURCHASE_AND_SERVICE_FEE: ("purchase_price", "monthly_service_fee"),
    Charging.ONE_OFF: ("purchase_price",),
    Charging.PER_WEEK: ("weekly_rent",),
    Charging.PRICE_LIST: ("monthly_rent",),
    Charging.PER_HOUR: (),
}


def check_price(category: Category, price: Price) -> None:
    # rule EQ-4: each charging model needs its own price fields
    rules = rules_of(category)
    needed = REQUIRED_PRICE_FIELDS[rules.charging] + (("installation_fee",) if rules.installation_charged else ())
    missing = [name for name in needed if getattr(price, name) is None]
    if missing:
        raise ValueError(
            f"{', '.join(missing)}: rule EQ-4 requires these for {category.value} ({rules.charging.value})"
        )


class OneOffCharge(BaseModel):
    kind: str
    amount: Decimal


def delivery_charges(category: Category, price: Price, rental_weeks: int | None) -> list[OneOffCharge]:
    """Charges booked once at delivery (rule EQ-4); recurring rent is booked as cost periods instead."""
    rules = rules_of(category)
    charges: list[OneOffCharge] = []
    if rules.charging in (Charging.PURCHASE_AND_SERVICE_FEE, Charging.ONE_OFF):
        charges.append(OneOffCharge(kind="purchase", amount=price.purchase_price or Decimal("0")))
    if rules.charging is Charging.PER_WEEK:
        weeks = max(1, rental_weeks or 1)  # rule EQ-4: at least one week
        charges.append(OneOffCharge(kind="short_term_rent", amount=(price.weekly_rent or Decimal("0")) * weeks))
    if rules.installation_charged:
        charges.append(OneOffCharge(kind="installation", amount=price.installation_fee or Decimal("0")))
    return charges


def monthly_recurring(category: Category, price: Price) -> Decimal | None:
    """The monthly amount charged while the device is active with a cost bearer (rules EQ-4, EQ-6)."""
    charging = rules_of(category).charging
    if charging in (Charging.RENT, Charging.PRICE_LIST):
        return price.monthly_rent
    if charging is Charging.PURCHASE_AND_SERVICE_FEE:
        return price.monthly_service_fee
    return None


def add_months(day: date, months: int) -> date:
    """Calendar months later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


class OrderTerms(BaseModel):
    """What the catalogue says about an order, fixed when the order is registered."""

    category: Category
    model_name: str
    agreement_ref: str
    municipality: str
    price: Price
    renewal_months: int | None
    original_os: str | None = None

    @property
    def charging(self) -> Charging:
        return rules_of(self.category).charging
