"""PayCombat's ``order_items`` / ``order_fees`` for an amount Saleor asks us to charge.

PayCombat requires ``amount`` to equal the sum of the items and fees (documented). Saleor's lines do
not always multiply out to its totals (line-level discounts, voucher discounts on the whole checkout,
partial payments), so the lines are used only when they add up to the charged amount exactly; anything
else becomes a single summary line. The shopper then still sees what they pay for, and the signed
amount is never off by a cent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from paycombat_gateway.money import MoneyError, quantize

__all__ = ["OrderFee", "OrderItem", "OrderLines", "SourceLine", "build_order_lines"]

_MAX_NAME_LENGTH = 255


@dataclass(frozen=True, slots=True)
class SourceLine:
    """A checkout or order line as Saleor reports it (gross amounts)."""

    name: str
    quantity: int
    unit_price: Decimal
    total_price: Decimal


@dataclass(frozen=True, slots=True)
class OrderItem:
    product_name: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class OrderFee:
    fee_name: str
    fee_amount: Decimal


@dataclass(frozen=True, slots=True)
class OrderLines:
    items: tuple[OrderItem, ...]
    fees: tuple[OrderFee, ...]

    @property
    def total(self) -> Decimal:
        return sum((item.unit_price * item.quantity for item in self.items), Decimal(0)) + sum(
            (fee.fee_amount for fee in self.fees), Decimal(0)
        )


def _name(text: str) -> str:
    cleaned = " ".join(text.split()) or "Item"
    return cleaned[:_MAX_NAME_LENGTH]


def _item_for(line: SourceLine, currency: str) -> OrderItem:
    unit = quantize(line.unit_price, currency)
    total = quantize(line.total_price, currency)
    if line.quantity > 0 and unit * line.quantity == total:
        return OrderItem(_name(line.name), line.quantity, unit)
    # Discounted or rounded lines: charge the line total as one unit so the sum stays exact.
    return OrderItem(_name(f"{line.name} × {line.quantity}"), 1, total)


def build_order_lines(
    amount: Decimal,
    currency: str,
    lines: Sequence[SourceLine],
    *,
    source_total: Decimal | None,
    summary_name: str,
) -> OrderLines:
    """Items and fees that sum to ``amount`` exactly.

    The source's lines are itemised when Saleor charges the whole total; the difference between the
    lines and the total (shipping, surcharges) becomes a fee. A partial charge, a total below the
    lines (order-level discounts) or lines that cannot be expressed in the currency give one summary
    line named ``summary_name``.
    """
    amount = quantize(amount, currency)
    summary = OrderLines(items=(OrderItem(_name(summary_name), 1, amount),), fees=())
    if not lines or source_total is None:
        return summary
    try:
        if quantize(source_total, currency) != amount:
            return summary
        items = tuple(_item_for(line, currency) for line in lines if line.quantity > 0)
    except MoneyError:
        return summary
    if not items:
        return summary
    items_total = sum((item.unit_price * item.quantity for item in items), Decimal(0))
    remainder = amount - items_total
    if remainder < 0:
        return summary
    fees = (OrderFee("Shipping and other charges", remainder),) if remainder > 0 else ()
    result = OrderLines(items=items, fees=fees)
    assert result.total == amount  # the invariant PayCombat checks
    return result
