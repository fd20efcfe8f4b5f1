"""Storefront ``data`` is validated key by key, with errors that name the key."""

from __future__ import annotations

from typing import Any

import pytest

from paycombat_gateway.gateway.errors import ErrorCode, PaymentError
from paycombat_gateway.gateway.storefront_data import parse_initialize_data


def test_single_return_url() -> None:
    parsed = parse_initialize_data({"return_url": "https://shop.example/return?x=1"}, default_return_url=None)
    assert parsed.return_urls.redirect_url == "https://shop.example/return?x=1"
    assert not parsed.return_urls.has_outcome_urls


def test_outcome_urls_and_preselection() -> None:
    parsed = parse_initialize_data(
        {
            "return_urls": {"completed": "https://s.example/ok", "failed": "https://s.example/failed"},
            "payin_method": "au_bank_npp",
            "bank": "KDB산업은행",
        },
        default_return_url=None,
    )
    assert parsed.return_urls.completed_url == "https://s.example/ok"
    assert parsed.return_urls.cancelled_url is None
    assert parsed.payin_method == "au_bank_npp"
    assert parsed.bank == "KDB산업은행"


def test_configuration_default_is_the_fallback() -> None:
    parsed = parse_initialize_data(None, default_return_url="https://shop.example/back")
    assert parsed.return_urls.redirect_url == "https://shop.example/back"


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({}, ErrorCode.INVALID_RETURN_URL, "return_url"),
        ({"return_url": "javascript:alert(1)"}, ErrorCode.INVALID_RETURN_URL, "return_url"),
        ({"return_url": "/relative"}, ErrorCode.INVALID_RETURN_URL, "return_url"),
        ({"return_url": "https://user:pw@shop.example/"}, ErrorCode.INVALID_RETURN_URL, "return_url"),
        ({"return_url": "https://shop.example/" + "a" * 3000}, ErrorCode.INVALID_RETURN_URL, "return_url"),
        ({"return_urls": {"completed": 5}}, ErrorCode.INVALID_RETURN_URL, "return_urls.completed"),
        ({"return_urls": {"paid": "https://s.example"}}, ErrorCode.INVALID_DATA, "return_urls"),
        ({"return_url": "https://s.example", "payin_method": ""}, ErrorCode.INVALID_DATA, "payin_method"),
        ({"return_url": "https://s.example", "surprise": 1}, ErrorCode.INVALID_DATA, "data"),
        ([1, 2], ErrorCode.INVALID_DATA, "data"),
    ],
)
def test_invalid_data_names_the_key(data: Any, code: ErrorCode, field: str) -> None:
    with pytest.raises(PaymentError) as caught:
        parse_initialize_data(data, default_return_url=None)
    assert caught.value.code is code
    assert caught.value.field == field
    assert caught.value.as_data()["errors"][0]["code"] == code.value  # type: ignore[index]
