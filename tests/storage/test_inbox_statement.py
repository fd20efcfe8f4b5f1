"""A PayCombat delivery that matches no payment is stored with ONE statement, match and insert together
(``inbox.store_unless_matched``), on SQLite and PostgreSQL: nothing lost, a replay stores nothing, and
two copies racing on two connections store one row. One that matches a payment writes nothing there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from paycombat_gateway.storage import configs, inbox, sessions
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.models import PaycombatDelivery
from paycombat_gateway.storage.secrets import SecretBox
from tests.storage.test_repositories import _race, _session_fields, _setup
from tests.support.databases import migrated_database


def _store(database: Database, config_id: str, key: str = "PAYIN:p_1:SUCCESS", **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "config_id": config_id,
        "references": ("bench-1",),
        "raw_body": b'{"id":"p_1","status":"SUCCESS"}',
        "headers": {"content-type": "application/json"},
        "signature_valid": True,
        "dedupe_key": key,
        "kind": "PAYIN",
        "payin_id": "p_1",
        "match_state": "unmatched",
        "note": "no payment of this app carries these references: bench-1",
        **overrides,
    }
    return inbox.store_unless_matched(database, **fields)


def _deliveries(database: Database) -> list[PaycombatDelivery]:
    with database.session(readonly=True) as session:
        return list(session.scalars(select(PaycombatDelivery).order_by(PaycombatDelivery.id)))


def test_an_unmatched_delivery_is_stored_as_the_orm_would_store_it(
    database: Database, box: SecretBox
) -> None:
    _, config_id = _setup(database, box)
    stored = _store(database, config_id)
    assert stored is not None and not stored.duplicate
    (row,) = _deliveries(database)
    assert row.id == stored.delivery_id
    assert row.raw_body == b'{"id":"p_1","status":"SUCCESS"}' and row.headers == {
        "content-type": "application/json"
    }
    assert row.signature_valid is True and row.kind == "PAYIN" and row.payin_id == "p_1"
    assert row.match_state == "unmatched" and row.payment_session_id is None and row.source == "webhook"
    assert row.note == "no payment of this app carries these references: bench-1"
    assert row.duplicates == 0
    assert row.received_at.utcoffset() is not None and row.processed_at is not None


def test_a_replay_stores_nothing_and_is_counted(database: Database, box: SecretBox) -> None:
    _, config_id = _setup(database, box)
    first = _store(database, config_id)
    again = _store(
        database, config_id, raw_body=b'{"status":"SUCCESS","id":"p_1"}'
    )  # same event, other bytes
    third = _store(database, config_id)
    assert not first.duplicate and again.duplicate and third.duplicate
    assert first.delivery_id == again.delivery_id == third.delivery_id
    (row,) = _deliveries(database)
    assert row.duplicates == 2 and row.raw_body == b'{"id":"p_1","status":"SUCCESS"}'  # the first copy kept


def test_two_connections_storing_the_same_delivery_at_once_store_it_once(
    database: Database, box: SecretBox
) -> None:
    _, config_id = _setup(database, box)
    results = _race(8, lambda _: _store(database, config_id))
    assert sorted(result.duplicate for result in results) == [False] + [True] * 7
    assert len({result.delivery_id for result in results}) == 1
    (row,) = _deliveries(database)
    assert row.duplicates == 7


@pytest.mark.parametrize("position", [0, 3])
def test_a_delivery_matching_a_payment_writes_nothing(
    database: Database, box: SecretBox, position: int
) -> None:
    installation_id, config_id = _setup(database, box)
    sessions.claim_payment_session(
        database, installation_id=installation_id, idempotency_key="k", **_session_fields(config_id)
    )
    references = ["other-1", "other-2", "other-3", "other-4"]
    references[position] = "SALEOR-1"  # the payment's merchant reference, in any of the four fields
    assert _store(database, config_id, references=tuple(references)) is None
    assert _deliveries(database) == []


def test_a_payment_of_another_configuration_does_not_match(database: Database, box: SecretBox) -> None:
    installation_id, config_id = _setup(database, box)
    with database.session() as session:
        other = configs.create_config(
            session, box, installation_id=installation_id, name="Other",
            x_token="snd_xtoken_other_1234", signature_key="snd_sigkey_other_5678",
        ).id  # fmt: skip
    sessions.claim_payment_session(
        database, installation_id=installation_id, idempotency_key="k", **_session_fields(other)
    )
    stored = _store(database, config_id, references=("SALEOR-1",))
    assert stored is not None and not stored.duplicate
    assert [row.config_id for row in _deliveries(database)] == [config_id]


def test_without_references_or_with_too_many(database: Database, box: SecretBox) -> None:
    _, config_id = _setup(database, box)
    stored = _store(database, config_id, references=(), kind="PAYOUT", match_state="ignored")
    assert stored is not None and _deliveries(database)[0].match_state == "ignored"
    too_many = tuple(f"ref-{index}" for index in range(inbox.MAX_REFERENCES + 1))
    assert _store(database, config_id, key="PAYIN:p_2:SUCCESS", references=too_many) is None
    assert len(_deliveries(database)) == 1


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[tuple[Database, list[str]]]:
    """A SQLite database whose connections report every statement they run."""
    statements: list[str] = []
    with migrated_database("sqlite", tmp_path) as migrated:
        database = Database.from_url(migrated.url)

        @event.listens_for(database.engine, "connect")
        def trace(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.set_trace_callback(statements.append)

        yield database, statements
        database.dispose()


def test_storing_and_replaying_a_delivery_is_one_statement_each(
    traced: tuple[Database, list[str]], box: SecretBox
) -> None:
    database, statements = traced
    _, config_id = _setup(database, box)
    database.ping()  # the pool's connection is open and traced before counting
    statements.clear()
    _store(database, config_id)
    assert [sql.split()[0] for sql in statements] == ["INSERT"]
    assert "NOT (EXISTS (SELECT" in statements[0] and "ON CONFLICT" in statements[0]
    statements.clear()
    assert _store(database, config_id).duplicate
    assert [sql.split()[0] for sql in statements] == ["INSERT"]
    with database.session(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(PaycombatDelivery)) == 1
