"""A call-off under the framework agreement as a Peppol BIS Ordering 3 Order (UBL 2.1; rules EQ-1, EQ-2;
issue 25), and the supplier's Order Response read back. The order's ID is the device's order number, so the
response (`OrderReference/ID`) finds its device; the contract reference is the agreement the call-off is made
under (EQ-2). The bytes depend only on the call-off (no clock): the same call-off gives the identical file."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from lxml import etree

CUSTOMIZATION = "urn:fdc:peppol.eu:poacc:trns:order:3"
PROFILE = "urn:fdc:peppol.eu:poacc:bis:ordering:3"
RESPONSE_CUSTOMIZATION = "urn:fdc:peppol.eu:poacc:trns:order_response:3"
UBL_ORDER = "urn:oasis:names:specification:ubl:schema:xsd:Order-2"
UBL_RESPONSE = "urn:oasis:names:specification:ubl:schema:xsd:OrderResponse-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
ORDER_VALID_DAYS = 30  # the supplier answers (Order Response) within this; the BIS asks for a validity end date
# UNCL 4343 as BIS Ordering 3 uses it: AP accepted, RE rejected, CA accepted with changes
RESPONSE_CODES = {"AP": "accepted", "RE": "rejected", "CA": "changed"}


class PeppolError(Exception):
    """A setting or a fact the order needs is missing, or a response is not one we can read (names it)."""


@dataclass(frozen=True)
class OrderFacts:
    order_number: str
    agreement_ref: str
    call_off_reference: str
    model_code: str
    model_name: str
    unit_id: str
    municipality: str
    municipality_name: str
    ordered_at: datetime  # local time
    buyer_id: str  # scheme:id
    supplier_id: str  # scheme:id
    unit_price: Decimal | None  # the price list's purchase price, when it has one
    delivery_place: str | None = None


@dataclass(frozen=True)
class OrderResponse:
    order_number: str
    code: str  # AP / RE / CA
    outcome: str  # accepted / rejected / changed
    note: str | None
    response_id: str


def participant(value: str | None, setting: str, key: str) -> tuple[str, str]:
    """`0007:2120001553` → (scheme, id); missing or malformed names the setting and its key."""
    scheme, _, ident = (value or "").partition(":")
    if not value or not scheme.isdigit() or len(scheme) != 4 or not ident.strip():
        raise PeppolError(f"{setting}: no Peppol participant id (`scheme:id`, e.g. 0007:2120001553) for {key!r}")
    return scheme, ident.strip()


def _sub(parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", **attrs)
    if text is not None:
        element.text = text
    return element


def _party(parent: etree._Element, role: str, scheme: str, ident: str, name: str | None) -> None:
    party = _sub(_sub(parent, CAC, role), CAC, "Party")
    _sub(party, CBC, "EndpointID", ident, schemeID=scheme)
    _sub(_sub(party, CAC, "PartyIdentification"), CBC, "ID", ident, schemeID=scheme)
    if name:
        _sub(_sub(party, CAC, "PartyLegalEntity"), CBC, "RegistrationName", name)


def order_document(facts: OrderFacts) -> bytes:
    """The UBL 2.1 Order (BIS Ordering 3): one line, one device of the catalogue model."""
    buyer = participant(facts.buyer_id, "PEPPOL_BUYER_IDS", facts.municipality)
    supplier = participant(facts.supplier_id, "PEPPOL_SUPPLIER_IDS", facts.agreement_ref)
    root = etree.Element(f"{{{UBL_ORDER}}}Order", nsmap={None: UBL_ORDER, "cac": CAC, "cbc": CBC})
    _sub(root, CBC, "CustomizationID", CUSTOMIZATION)
    _sub(root, CBC, "ProfileID", PROFILE)
    _sub(root, CBC, "ID", facts.order_number)
    _sub(root, CBC, "IssueDate", facts.ordered_at.date().isoformat())
    _sub(root, CBC, "IssueTime", facts.ordered_at.replace(tzinfo=None, microsecond=0).time().isoformat())
    _sub(root, CBC, "Note", f"Avrop {facts.call_off_reference} under avtal {facts.agreement_ref}")
    _sub(root, CBC, "DocumentCurrencyCode", "SEK")
    _sub(root, CBC, "CustomerReference", facts.unit_id)
    _sub(root, CBC, "AccountingCost", facts.unit_id)
    valid_until = facts.ordered_at.date() + timedelta(days=ORDER_VALID_DAYS)
    _sub(_sub(root, CAC, "ValidityPeriod"), CBC, "EndDate", valid_until.isoformat())  # BIS PEPPOL-T01-R002
    _sub(_sub(root, CAC, "Contract"), CBC, "ID", facts.agreement_ref)  # EQ-2: the agreement called off
    _party(root, "BuyerCustomerParty", *buyer, facts.municipality_name)
    _party(root, "SellerSupplierParty", *supplier, None)
    if facts.delivery_place:
        location = _sub(_sub(root, CAC, "Delivery"), CAC, "DeliveryLocation")
        _sub(location, CBC, "Description", facts.delivery_place)
    if facts.unit_price is not None:
        total = _sub(root, CAC, "AnticipatedMonetaryTotal")
        _sub(total, CBC, "LineExtensionAmount", f"{facts.unit_price:.2f}", currencyID="SEK")
        _sub(total, CBC, "PayableAmount", f"{facts.unit_price:.2f}", currencyID="SEK")
    item_line = _sub(_sub(root, CAC, "OrderLine"), CAC, "LineItem")
    _sub(item_line, CBC, "ID", "1")
    _sub(item_line, CBC, "Quantity", "1", unitCode="C62")
    if facts.unit_price is not None:
        _sub(item_line, CBC, "LineExtensionAmount", f"{facts.unit_price:.2f}", currencyID="SEK")
        _sub(_sub(item_line, CAC, "Price"), CBC, "PriceAmount", f"{facts.unit_price:.2f}", currencyID="SEK")
    item = _sub(item_line, CAC, "Item")
    _sub(item, CBC, "Name", facts.model_name)
    _sub(_sub(item, CAC, "BuyersItemIdentification"), CBC, "ID", facts.model_code)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def order_file_name(order_number: str) -> str:
    return f"order-{order_number}.xml"


def read_order_response(content: bytes) -> OrderResponse:
    """The supplier's Order Response: which order, accepted / rejected / changed, and the reason (Note)."""
    try:
        root = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False, no_network=True,
                                                                 huge_tree=False))
    except etree.XMLSyntaxError as error:
        raise PeppolError(f"file: not XML ({error})") from None
    if root.tag != f"{{{UBL_RESPONSE}}}OrderResponse":
        raise PeppolError(f"file: not a UBL OrderResponse (root {etree.QName(root).localname})")
    ns = {"cac": CAC, "cbc": CBC}

    def text(path: str) -> str | None:
        found = root.xpath(f"normalize-space({path})", namespaces=ns)
        return found or None

    customization = text("cbc:CustomizationID") or ""
    if not customization.startswith(RESPONSE_CUSTOMIZATION):
        raise PeppolError(f"CustomizationID: {customization!r} is not a BIS Ordering 3 Order Response")
    order_number = text("cac:OrderReference/cbc:ID")
    if not order_number:
        raise PeppolError("OrderReference/ID: the response names no order")
    code = text("cbc:OrderResponseCode") or ""
    if code not in RESPONSE_CODES:
        raise PeppolError(f"OrderResponseCode: {code!r} is not AP, RE or CA")
    notes = [n.strip() for n in root.xpath("cbc:Note/text()", namespaces=ns) if n.strip()]
    return OrderResponse(order_number=order_number, code=code, outcome=RESPONSE_CODES[code],
                         note=" ".join(notes)[:500] or None, response_id=text("cbc:ID") or "")
