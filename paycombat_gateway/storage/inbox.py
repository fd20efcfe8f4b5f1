"""The inbox of PayCombat deliveries: stored raw and durably before they are acknowledged, once each."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NotRequired, TypedDict, Unpack, cast

from sqlalchemy import Table, bindparam, exists, literal_column, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.models import PaycombatDelivery, PaymentSession, utcnow
from paycombat_gateway.storage.upsert import insert_unless_exists

__all__ = [
    "MAX_REFERENCES",
    "NewDelivery",
    "StoredDelivery",
    "deliveries_by_state",
    "record_delivery",
    "store_unless_matched",
]

# A payin names its checkout in at most four fields (order_reference, transaction, description,
# order_id: ``paycombat.webhooks``); the statement has a parameter for each, unused ones NULL.
MAX_REFERENCES = 4
# What the statement stores; payment_session_id stays NULL (it matched nothing), duplicates starts at 0.
_STORED_COLUMNS = (
    "config_id", "received_at", "raw_body", "headers", "signature_valid", "dedupe_key", "kind",
    "payin_id", "match_state", "note", "duplicates", "processed_at", "source",
)  # fmt: skip


class NewDelivery(TypedDict):
    """An authenticated delivery as the inbox stores it, whichever way it is stored."""

    config_id: str
    raw_body: bytes
    headers: dict[str, str]
    signature_valid: bool
    dedupe_key: str
    kind: str
    payin_id: str | None
    match_state: NotRequired[str]  # "unmatched" unless given
    note: NotRequired[str | None]
    source: NotRequired[str]  # "webhook" unless given


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    """What ``store_unless_matched`` did with a delivery that matched no payment."""

    delivery_id: int
    duplicate: bool  # an earlier copy was stored; this one only counted


@lru_cache(maxsize=2)
def _unless_matched_statement(dialect: str) -> Insert:
    """INSERT … SELECT <the delivery> WHERE no payment carries its references
    ON CONFLICT (config_id, dedupe_key) DO UPDATE SET duplicates = duplicates + 1 RETURNING id, duplicates.

    A new row comes back with ``duplicates`` 0, a replay's with 1 or more; no row at all means a payment
    matched, and nothing was written. Built once per dialect; every value is a bound parameter."""
    deliveries = cast(Table, PaycombatDelivery.__table__)
    payments = cast(Table, PaymentSession.__table__)
    references = [bindparam(f"reference_{index}", type_=payments.c.merchant_reference.type)
                  for index in range(MAX_REFERENCES)]  # fmt: skip
    # Found by the unique merchant reference. SQLite's planner, without statistics, would rather walk
    # the configuration's index, every payment the configuration ever had, on each delivery: the
    # unary "+" keeps it off that index (PostgreSQL's planner picks the reference's index by itself).
    owner = literal_column(f"+{payments.name}.config_id") if dialect == "sqlite" else payments.c.config_id
    matched = exists().where(
        payments.c.merchant_reference.in_(references),
        owner == bindparam("config_id", type_=deliveries.c.config_id.type),
    )
    row: list[Any] = []
    for name in _STORED_COLUMNS:
        column = deliveries.c[name]
        value = bindparam(name, type_=column.type)
        # PostgreSQL types a bare parameter in a SELECT list as text; say what each one is.
        row.append(sql_cast(value, column.type) if dialect == "postgresql" else value)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(deliveries).from_select(
        list(_STORED_COLUMNS), select(*row).where(~matched), include_defaults=False
    )
    return statement.on_conflict_do_update(
        index_elements=["config_id", "dedupe_key"],
        set_={"duplicates": deliveries.c.duplicates + literal_column("1")},
    ).returning(deliveries.c.id, deliveries.c.duplicates)


def store_unless_matched(
    database: Database, *, references: tuple[str, ...], **delivery: Unpack[NewDelivery]
) -> StoredDelivery | None:
    """Store a delivery that matches no payment of ``config_id`` in ONE autocommit statement, match and
    insert together; None when a payment does match (nothing written: the caller's transaction decides).

    Race-safe as ``record_delivery``: two copies of one delivery at once, on two connections or two
    instances, meet on the (config_id, dedupe_key) key; one row is stored, the other copy counted.
    """
    if len(references) > MAX_REFERENCES:
        return None  # more than the statement takes: let the transaction match it
    now = utcnow()
    values: dict[str, Any] = {
        f"reference_{index}": references[index] if index < len(references) else None
        for index in range(MAX_REFERENCES)
    }
    values.update(match_state="unmatched", note=None, source="webhook", received_at=now, processed_at=now)
    values.update(delivery, duplicates=0)
    row = database.write_single(_unless_matched_statement(database.engine.dialect.name), values)
    if row is None:
        return None
    return StoredDelivery(delivery_id=int(row[0]), duplicate=int(row[1]) > 0)


def record_delivery(
    session: Session, *, payment_session_id: int | None = None, **delivery: Unpack[NewDelivery]
) -> tuple[int | None, bool]:
    """Store a delivery; the second copy of the same ``dedupe_key`` only bumps a counter.

    Returns the stored delivery's id (None for a duplicate) and whether this one was a duplicate. Safe when
    two processes record the same delivery at the same moment: the unique key admits one row.
    """
    now = utcnow()
    values: dict[str, Any] = {"match_state": "unmatched", "note": None, "source": "webhook"}
    values.update(delivery, payment_session_id=payment_session_id, received_at=now, processed_at=now)
    delivery_id = insert_unless_exists(
        session, PaycombatDelivery, ("config_id", "dedupe_key"), duplicates=0, **values
    )
    if delivery_id is not None:
        return int(delivery_id), False
    session.execute(
        update(PaycombatDelivery)
        .where(
            PaycombatDelivery.config_id == delivery["config_id"],
            PaycombatDelivery.dedupe_key == delivery["dedupe_key"],
        )
        .values(duplicates=PaycombatDelivery.duplicates + 1)
    )
    return None, True


def deliveries_by_state(
    session: Session, config_ids: list[str], match_state: str, limit: int = 50
) -> list[PaycombatDelivery]:
    return list(
        session.scalars(
            select(PaycombatDelivery)
            .where(PaycombatDelivery.config_id.in_(config_ids), PaycombatDelivery.match_state == match_state)
            .order_by(PaycombatDelivery.received_at.desc())
            .limit(limit)
        )
    )
