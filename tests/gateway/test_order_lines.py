"""Order lines sent to PayCombat always add up to the charged amount."""

from __future__ import annotations

from decimal import Decimal

import pytest

from paycombat_gateway.gateway.order_lines import SourceLine, build_order_lines


def _line(name: str, quantity: int, unit: str, total: str) -> SourceLine:
    return SourceLine(name=name, quantity=quantity, unit_price=Decimal(unit), total_price=Decimal(total))


def test_full_charge_itemises_lines_and_turns_shipping_into_a_fee() -> None:
    lines = [_line("Widget – blue", 2, "45.50", "91.00"), _line("Cable", 1, "9.99", "9.99")]
    result = build_order_lines(
        Decimal("110.99"), "USD", lines, source_total=Decimal("110.99"), summary_name="x"
    )
    assert [(item.product_name, item.quantity, item.unit_price) for item in result.items] == [
        ("Widget – blue", 2, Decimal("45.50")),
        ("Cable", 1, Decimal("9.99")),
    ]
    assert [(fee.fee_name, fee.fee_amount) for fee in result.fees] == [
        ("Shipping and other charges", Decimal("10.00"))
    ]
    assert result.total == Decimal("110.99")


def test_discounted_line_is_charged_as_its_total() -> None:
    lines = [_line("Shoe", 3, "10.00", "25.00")]
    result = build_order_lines(
        Decimal("25.00"), "EUR", lines, source_total=Decimal("25.00"), summary_name="x"
    )
    assert [(item.product_name, item.quantity, item.unit_price) for item in result.items] == [
        ("Shoe × 3", 1, Decimal("25.00"))
    ]
    assert result.fees == ()


def test_partial_charge_is_one_summary_line() -> None:
    lines = [_line("Shoe", 1, "100.00", "100.00")]
    result = build_order_lines(
        Decimal("40.00"), "USD", lines, source_total=Decimal("100.00"), summary_name="Part"
    )
    assert [(item.product_name, item.quantity, item.unit_price) for item in result.items] == [
        ("Part", 1, Decimal("40.00"))
    ]


def test_order_level_discount_falls_back_to_summary() -> None:
    lines = [_line("Shoe", 1, "100.00", "100.00")]
    result = build_order_lines(
        Decimal("90.00"), "USD", lines, source_total=Decimal("90.00"), summary_name="Order"
    )
    assert len(result.items) == 1 and result.items[0].unit_price == Decimal("90.00")
    assert result.total == Decimal("90.00")


def test_krw_lines_have_no_fraction() -> None:
    lines = [_line("김치", 3, "5000", "15000")]
    result = build_order_lines(
        Decimal("18000"), "KRW", lines, source_total=Decimal("18000"), summary_name="x"
    )
    assert result.items[0].unit_price == Decimal("5000")
    assert result.fees[0].fee_amount == Decimal("3000")


def test_amount_too_precise_for_the_currency_is_refused() -> None:
    from paycombat_gateway.money import MoneyError

    with pytest.raises(MoneyError):
        build_order_lines(Decimal("10.5"), "KRW", [], source_total=None, summary_name="x")


def test_lines_that_cannot_be_expressed_fall_back_to_summary() -> None:
    lines = [_line("Fractional", 1, "10.5", "10.5")]
    result = build_order_lines(Decimal("11"), "JPY", lines, source_total=Decimal("11"), summary_name="S")
    assert [(item.product_name, item.unit_price) for item in result.items] == [("S", Decimal("11"))]
