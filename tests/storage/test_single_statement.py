"""The autocommit single-statement path of the payment hot path, on SQLite and PostgreSQL.

What it writes must read back through the ORM exactly as if the ORM had written it; it must commit by
itself; it must leave pooled PostgreSQL connections transactional for everyone else; and a database
that is gone must surface as ``StorageUnavailable`` like every other storage call.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from paycombat_gateway.storage import outbox, sessions
from paycombat_gateway.storage.db import Database, StorageUnavailable
from paycombat_gateway.storage.models import OutboxReport, PaymentSession
from paycombat_gateway.storage.secrets import SecretBox
from paycombat_gateway.storage.single_statement import SingleStatement
from paycombat_gateway.storage.upsert import unless_exists_statement
from tests.storage.test_repositories import _session_fields, _setup
from tests.support.databases import migrated_database

TABLE = cast(Table, PaymentSession.__table__)


def _claim(database: Database, config_id: str, installation_id: int, key: str = "k") -> sessions.Claim:
    return sessions.claim_payment_session(
        database,
        installation_id=installation_id,
        idempotency_key=key,
        **_session_fields(config_id, reference=f"SALEOR-{key}"),
    )


def test_a_claim_and_its_checkout_read_back_typed_through_the_orm(database: Database, box: SecretBox) -> None:
    installation_id, config_id = _setup(database, box)
    claim = _claim(database, config_id, installation_id)
    assert claim.must_create and claim.merchant_reference == "SALEOR-k"
    account = {"bank_name": "KB", "account_number": "1234-5678", "expires_at": "2026-12-01T00:00:00Z"}
    state = sessions.record_checkout(
        database,
        claim.session_id,
        checkout_id="chk_1",
        checkout_token="tok_1",
        checkout_url="https://pay.example/chk_1",
        expires_at="2026-12-01T00:00:00Z",
        payin_method_name="kr_va",
        virtual_account=account,
        last_error=None,
    )
    assert state == "action_required"
    with database.session(readonly=True) as session:
        row = session.get(PaymentSession, claim.session_id)
        assert row is not None
        assert row.amount == Decimal("49.99") and isinstance(row.amount, Decimal)
        assert row.virtual_account == account
        assert row.amount_mismatch is False
        assert row.state == "action_required" and row.checkout_id == "chk_1"
        assert row.claimed_at.tzinfo is not None and row.claimed_at.utcoffset() == UTC.utcoffset(None)
        assert row.updated_at >= row.created_at
        assert row.paid_amount is None and row.payin_id is None


def test_a_checkout_recorded_after_a_webhook_keeps_the_webhook_state(
    database: Database, box: SecretBox
) -> None:
    installation_id, config_id = _setup(database, box)
    claim = _claim(database, config_id, installation_id)
    with database.session() as session:
        row = session.get(PaymentSession, claim.session_id)
        assert row is not None
        row.state = "succeeded"
    assert sessions.record_checkout(database, claim.session_id, checkout_id="chk_2") == "succeeded"
    assert sessions.record_checkout(database, 999_999, checkout_id="chk_3") is None


def test_a_conflicting_insert_writes_nothing_and_returns_none(database: Database, box: SecretBox) -> None:
    installation_id, config_id = _setup(database, box)
    first = _claim(database, config_id, installation_id)
    again = _claim(database, config_id, installation_id)
    assert again.session_id == first.session_id and not again.must_create
    with database.session(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(PaymentSession)) == 1


def test_sessions_after_the_autocommit_path_still_roll_back(database: Database, box: SecretBox) -> None:
    """A session after the autocommit path must still roll back as a unit."""
    installation_id, config_id = _setup(database, box)
    for index in range(12):  # more than the pool holds, so every pooled connection has been used
        _claim(database, config_id, installation_id, key=f"k{index}")
    with pytest.raises(RuntimeError, match="rolled back"), database.session() as session:
        session.execute(update(PaymentSession).values(state="cancelled"))
        raise RuntimeError("rolled back")
    with database.session(readonly=True) as session:
        states = set(session.scalars(select(PaymentSession.state)))
    assert states == {"initializing"}


def test_a_write_to_a_database_that_is_gone_is_storage_unavailable(
    database: Database, tmp_path: Path
) -> None:
    if database.is_sqlite:
        gone = Database.from_url(f"sqlite:///{tmp_path}")  # a folder: SQLite cannot open it
    else:
        gone = Database.from_url("postgresql+psycopg://nobody@127.0.0.1:9/none")  # nothing listens
    with pytest.raises(StorageUnavailable):
        sessions.record_checkout(gone, 1, checkout_id="chk")
    gone.dispose()


@pytest.mark.postgres
def test_a_dropped_postgresql_connection_is_not_handed_out_again(tmp_path: Path, box: SecretBox) -> None:
    with migrated_database("postgresql", tmp_path) as database:
        _claims_survive_killed_connections(database, box)


def _claims_survive_killed_connections(database: Database, box: SecretBox) -> None:
    installation_id, config_id = _setup(database, box)
    _claim(database, config_id, installation_id, key="before")
    with database.engine.connect() as admin:
        admin.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    # The pool's pre-ping replaces the killed connections, so the next claims simply work.
    for index in range(3):
        assert _claim(database, config_id, installation_id, key=f"after-{index}").must_create


def test_compiling_refuses_what_this_path_would_get_wrong() -> None:
    dialect = sqlite.dialect()
    with pytest.raises(ValueError, match="updated_at explicitly"):
        SingleStatement.compile(update(TABLE).values(state="x"), dialect, ["state"])
    with pytest.raises(ValueError, match="RETURNING amount"):
        SingleStatement.compile(
            update(TABLE).values(state="x").returning(TABLE.c.amount), dialect, ["state", "updated_at"]
        )


def test_parameters_pass_through_the_column_types() -> None:
    """Bind processors run: an aware datetime is stored in UTC, JSON is serialised, order matches the SQL."""
    statement = SingleStatement.compile(
        update(TABLE).where(TABLE.c.id == 7).returning(TABLE.c.state),
        sqlite.dialect(),
        ["claimed_at", "virtual_account", "updated_at"],
    )
    aware = datetime(2026, 11, 25, 21, 0, tzinfo=timezone(timedelta(hours=9)))
    values: dict[str, Any] = {"claimed_at": aware, "virtual_account": {"bank": "KB"}, "updated_at": aware}
    parameters = list(statement.parameters(values))
    assert statement.sql.startswith(
        "UPDATE payment_sessions SET claimed_at=?, virtual_account=?, updated_at=?"
    )
    assert parameters[0].startswith("2026-11-25 12:00:00")
    assert parameters[1] == '{"bank": "KB"}'
    assert parameters[3] == 7


def _as_sqlalchemy_fills(statement: SingleStatement, values: dict[str, Any]) -> Any:
    """What SQLAlchemy's own ``construct_params`` and the types' bind processors give the driver."""
    dialect = statement.compiled.dialect
    filled = statement.compiled.construct_params(dict(values))
    for parameter, name in statement.compiled.bind_names.items():
        processor = parameter.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            filled[name] = processor(filled[name])
    if statement.compiled.positional:
        return [filled[name] for name in statement.compiled.positiontup or ()]
    return filled


def _comparable(filled: Any) -> Any:
    """psycopg's ``Json`` wrapper compares by identity: compare what it wraps."""
    if isinstance(filled, dict):
        return {name: getattr(value, "obj", value) for name, value in filled.items()}
    return [getattr(value, "obj", value) for value in filled]


# The dialects only, no database: "psycopg", since a "postgresql" id marks a test that needs PostgreSQL.
@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "psycopg"])
def test_parameters_are_filled_as_sqlalchemy_fills_them(dialect: Any) -> None:
    """The claim (every column) and the checkout (values of the statement's own in its CASE, a bound
    id), filled from the plan made once at compile time, as SQLAlchemy fills them on each call."""
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    claim_values = dict.fromkeys(sessions._CLAIM_COLUMNS) | {
        **_session_fields("cfg", reference="SALEOR-k"),
        "installation_id": 1,
        "idempotency_key": "k",
        "claimed_at": now,
        "created_at": now,
        "updated_at": now,
        "state": "initializing",
        "amount_mismatch": False,
        "reconcile_attempts": 0,
        "virtual_account": {"bank_name": "KB"},
    }
    record_values = {"checkout_id": "chk", "updated_at": now, "recorded_session_id": 7}
    cases = [
        (unless_exists_statement(TABLE, dialect.name, None), claim_values),
        (sessions._record_checkout_statement(), record_values),
    ]
    for statement, values in cases:
        compiled = SingleStatement.compile(statement, dialect, list(values))
        assert _comparable(compiled.parameters(values)) == _comparable(_as_sqlalchemy_fills(compiled, values))
    with pytest.raises(ValueError, match="give recorded_session_id"):
        SingleStatement.compile(sessions._record_checkout_statement(), dialect, ["checkout_id", "updated_at"])


def test_a_single_write_inside_an_open_write_session_is_refused_at_once(
    database: Database, box: SecretBox
) -> None:
    """On SQLite it would otherwise wait ten seconds for the session's own lock and then fail."""
    installation_id, config_id = _setup(database, box)
    with pytest.raises(RuntimeError, match="inside an open write session"), database.session():
        _claim(database, config_id, installation_id)
    with database.session(readonly=True):  # a read-only session holds no lock: allowed
        assert _claim(database, config_id, installation_id).must_create


def _announce(database: Database, installation_id: int, session_id: int) -> Any:
    """The checkout's announcement as initialize builds it: from the state the checkout's write returns."""

    def then(row: tuple[Any, ...] | None) -> Any:
        if row is None:
            return None
        return outbox.enqueue_report_statement(
            database.engine.dialect.name, installation_id=installation_id, payment_session_id=session_id,
            event_type="TRANSACTION_DETAILS", psp_reference=f"{row[0]}:PayCombat", amount=None,
            currency="USD", message="PayCombat", external_url=None,
        )  # fmt: skip

    return then


def test_a_checkout_and_its_announcement_are_written_together(database: Database, box: SecretBox) -> None:
    installation_id, config_id = _setup(database, box)
    claim = _claim(database, config_id, installation_id)
    then = _announce(database, installation_id, claim.session_id)
    assert (
        sessions.record_checkout(database, claim.session_id, then=then, checkout_id="chk_1")
        == "action_required"
    )
    with database.session(readonly=True) as session:
        (report,) = session.scalars(select(OutboxReport))
        assert (report.payment_session_id, report.psp_reference) == (
            claim.session_id,
            "action_required:PayCombat",
        )
        assert report.state == "pending" and report.attempts == 0 and report.next_attempt_at is not None
    # Recorded again (a retry): the same announcement is not owed twice.
    sessions.record_checkout(database, claim.session_id, then=then, checkout_id="chk_1")
    assert sessions.record_checkout(database, 999_999, then=then, checkout_id="chk_x") is None
    with database.session(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(OutboxReport)) == 1


def test_a_failed_announcement_leaves_the_checkout_unrecorded(database: Database, box: SecretBox) -> None:
    installation_id, config_id = _setup(database, box)
    claim = _claim(database, config_id, installation_id)

    def failing(row: tuple[Any, ...] | None) -> Any:
        raise RuntimeError("the announcement could not be built")

    with pytest.raises(RuntimeError, match="could not be built"):
        sessions.record_checkout(database, claim.session_id, then=failing, checkout_id="chk_1")
    with database.session(readonly=True) as session:
        row = session.get(PaymentSession, claim.session_id)
        assert row is not None and row.checkout_id is None and row.state == "initializing"
        assert session.scalar(select(func.count()).select_from(OutboxReport)) == 0
    # The connection went back to the pool usable, and the next write commits by itself.
    assert sessions.record_checkout(database, claim.session_id, checkout_id="chk_1") == "action_required"


def test_the_checkout_and_its_announcement_are_one_transaction_of_two_statements(
    tmp_path: Path, box: SecretBox
) -> None:
    statements: list[str] = []
    with migrated_database("sqlite", tmp_path) as migrated:
        database = Database.from_url(migrated.url)
        event.listen(
            database.engine, "connect", lambda connection, _: connection.set_trace_callback(statements.append)
        )
        installation_id, config_id = _setup(database, box)
        claim = _claim(database, config_id, installation_id)
        statements.clear()
        then = _announce(database, installation_id, claim.session_id)
        sessions.record_checkout(database, claim.session_id, then=then, checkout_id="chk_1")
        assert [sql.split()[0] for sql in statements] == ["BEGIN", "UPDATE", "INSERT", "COMMIT"]
        database.dispose()
