"""The one writer of the outbox, and what the order page is told about a transaction."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paycombat_gateway.gateway.reporting import payment_page_url, transaction_name

PACKAGE = Path(__file__).resolve().parents[2] / "paycombat_gateway"


def test_only_gateway_reporting_writes_to_the_outbox() -> None:
    writers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if re.search(r"\benqueue_report\w*\(", path.read_text(encoding="utf-8"))
    }
    assert writers == {"gateway/reporting.py", "storage/outbox.py"}


@pytest.mark.parametrize(
    ("method", "account", "name"),
    [
        (None, None, "PayCombat"),
        ("card", None, "PayCombat · card"),
        ("au_bank_npp", None, "PayCombat · bank transfer (PayID/NPP)"),
        ("something_new", None, "PayCombat · something_new"),
        (
            "KDB산업은행",
            {"bank_name": "KDB산업은행", "account_number": "1234"},
            "PayCombat · KDB산업은행 virtual account",
        ),
    ],
)
def test_the_transaction_is_named_by_its_method(
    method: str | None, account: dict[str, str] | None, name: str
) -> None:
    assert transaction_name(method, account) == name


def test_the_link_is_left_out_where_saleor_would_refuse_it() -> None:
    assert (
        payment_page_url("https://pay.example.com/", "co 1")
        == "https://pay.example.com/dashboard?payment=co+1"
    )
    assert payment_page_url("http://localhost:8000", "co-1") is None  # no real domain: Saleor refuses it
    assert payment_page_url("https://pay.example.com", "x" * 200) is None  # over Saleor's 200 characters
