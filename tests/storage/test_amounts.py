"""Amounts read back exactly as written, on SQLite (which keeps them as doubles) and PostgreSQL.

SQLite has no decimal type; an amount with more than 15 significant digits would come back altered,
so the amount columns refuse one rather than store it changed.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from paycombat_gateway.money import MoneyError
from paycombat_gateway.storage import sessions
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.models import PaymentSession
from paycombat_gateway.storage.secrets import SecretBox
from tests.storage.test_repositories import _session_fields, _setup


def _claim(database: Database, box: SecretBox, amount: Decimal, key: str) -> sessions.Claim:
    installation_id, config_id = _setup(database, box)
    fields = {**_session_fields(config_id, reference=f"SALEOR-{key}"), "amount": amount}
    return sessions.claim_payment_session(
        database, installation_id=installation_id, idempotency_key=key, **fields
    )


@pytest.mark.parametrize(
    "amount",
    [Decimal("99999999999.9999"), Decimal("99999999999"), Decimal("0.0001"), Decimal("1234567.891")],
)
def test_the_largest_and_finest_amounts_read_back_exactly(
    database: Database, box: SecretBox, amount: Decimal
) -> None:
    claim = _claim(database, box, amount, key="exact")
    with database.session() as session:
        row = session.get(PaymentSession, claim.session_id)
        assert row is not None
        assert row.amount == amount
        row.paid_amount = amount  # the ORM's write path, as the webhook settlement uses it
    with database.session(readonly=True) as session:
        row = session.get(PaymentSession, claim.session_id)
        assert row is not None and row.paid_amount == amount


@pytest.mark.parametrize(
    "amount", [Decimal("12345678901234.56"), Decimal("100000000000"), Decimal("49.99001")]
)
def test_an_amount_the_column_would_alter_is_refused_and_nothing_is_written(
    database: Database, box: SecretBox, amount: Decimal
) -> None:
    with pytest.raises(MoneyError):
        _claim(database, box, amount, key="too-large")
    with database.session(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(PaymentSession)) == 0


def test_the_orm_refuses_one_too(database: Database, box: SecretBox) -> None:
    claim = _claim(database, box, Decimal("10.00"), key="orm")
    with pytest.raises(StatementError) as refused, database.session() as session:
        row = session.get(PaymentSession, claim.session_id)
        assert row is not None
        row.paid_amount = Decimal("12345678901234.56")
    assert isinstance(refused.value.orig, MoneyError)
    with database.session(readonly=True) as session:
        row = session.get(PaymentSession, claim.session_id)
        assert row is not None and row.paid_amount is None


@pytest.mark.parametrize("value", [0.1, True, "49.99"])
def test_an_amount_that_is_not_a_decimal_or_an_integer_is_refused(
    database: Database, box: SecretBox, value: object
) -> None:
    claim = _claim(database, box, Decimal("10.00"), key="types")
    with pytest.raises(StatementError) as refused, database.session() as session:
        row = session.get(PaymentSession, claim.session_id)
        assert row is not None
        row.paid_amount = value  # type: ignore[assignment]
    assert isinstance(refused.value.orig, MoneyError)


def test_an_integer_amount_is_stored_as_its_decimal(database: Database, box: SecretBox) -> None:
    claim = _claim(database, box, Decimal("10.00"), key="integer")
    with database.session() as session:
        row = session.get(PaymentSession, claim.session_id)
        assert row is not None
        row.paid_amount = 10  # type: ignore[assignment]
    with database.session(readonly=True) as session:
        row = session.get(PaymentSession, claim.session_id)
        assert row is not None and row.paid_amount == Decimal(10) and isinstance(row.paid_amount, Decimal)
