"""The cost model of application agreements (rules AG-2, AG-3, AG-5): cost components, the yearly
price list and what a set of cost lines costs. Money is Decimal, rounded half up to öre."""
from __future__ import annotations

from fractions import Fraction
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from pydantic import BaseModel, Field, model_validator

SERVICE_CODE_PATTERN = r"^svc-[a-z0-9][a-z0-9-]{1,35}$"
CENT = Decimal("0.01")


# --- cost model (AG-2, AG-3, AG-5) ----------------------------------------------------------
class CostComponent(str, Enum):
    """The breakdown every agreement's operating cost follows (rule AG-2)."""

    SERVER = "server"
    DATABASE = "database"
    INTEGRATIONS = "integrations"
    STORAGE = "storage"
    COMMUNICATION = "communication"
    BACKUP = "backup"
    SUPPORT = "support"  # staff
    SUPPORT_TOOLS = "support_tools"


class PriceItem(BaseModel):
    """One unit price of one year's price list (rule AG-5): a standard component, or a service
    that tjänstefieringsgruppen priced (AG-7), classified under a component. Annual SEK per unit."""

    item: str = Field(description="the component's name, or a service code svc-…")
    component: CostComponent
    unit: str = Field(min_length=1, max_length=40)
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    year: int = Field(ge=2000, le=2100, description="the price list year this price was set in")
    description: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _item_matches(self) -> "PriceItem":
        if not self.item.startswith("svc-") and self.item != self.component.value:
            raise ValueError(f"item: {self.item!r} must be the component's name or a service code svc-…")
        return self


class PriceList(BaseModel):
    """The prices in force in `year`: per item, that year's price or the latest earlier one until
    the new list is decided (rule AG-5, as the equipment price list)."""

    year: int
    items: dict[str, PriceItem]

    @property
    def provisional(self) -> bool:
        return any(p.year < self.year for p in self.items.values())


class CostLine(BaseModel):
    """A cost component with its quantity; `service_code` prices it as a defined service (AG-7)."""

    component: CostComponent
    quantity: Decimal = Field(ge=0, max_digits=12, decimal_places=3)
    service_code: str | None = Field(None, pattern=SERVICE_CODE_PATTERN)
    note: str | None = Field(None, max_length=200)

    @property
    def item(self) -> str:
        return self.service_code or self.component.value


class CostedLine(BaseModel):
    item: str
    component: CostComponent
    quantity: Decimal
    unit: str
    unit_price: Decimal
    price_year: int
    amount: Decimal


class CostBreakdown(BaseModel):
    """Rule AG-3: cost = Σ quantity × that year's unit price, per component (SEK per year)."""

    year: int
    lines: list[CostedLine]
    per_component: dict[CostComponent, Decimal]
    total: Decimal
    provisional: bool = Field(description="some price is carried from an earlier year (AG-5)")


class MissingPrice(ValueError):
    """A cost line the price list has no unit price for (rule AG-3)."""


def money(value: Decimal | Fraction) -> Decimal:
    """Round once, to whole öre, half up (the only rounding of a line: agreements and billing alike)."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def compute_cost(lines: list[CostLine], prices: PriceList) -> CostBreakdown:
    """Rule AG-3: each line's amount is quantity × unit price rounded to öre; the total is their sum."""
    costed: list[CostedLine] = []
    per_component = {component: Decimal("0.00") for component in CostComponent}
    for line in lines:
        price = prices.items.get(line.item)
        if price is None:
            raise MissingPrice(f"cost_lines: no unit price for {line.item!r} in the price list of {prices.year} "
                               f"(rule AG-3)")
        if price.component != line.component:
            raise MissingPrice(f"cost_lines: {line.item!r} is priced as {price.component.value}, "
                               f"not {line.component.value} (rule AG-2)")
        amount = money(line.quantity * price.unit_price)
        costed.append(CostedLine(item=line.item, component=line.component, quantity=line.quantity, unit=price.unit,
                                 unit_price=price.unit_price, price_year=price.year, amount=amount))
        per_component[line.component] += amount
    return CostBreakdown(year=prices.year, lines=costed, per_component=per_component,
                         total=sum((c.amount for c in costed), Decimal("0.00")),
                         provisional=any(c.price_year < prices.year for c in costed))


# --- activity contracts -----------------------------------------------------------------------
class PriceListRequest(BaseModel):
    year: int

