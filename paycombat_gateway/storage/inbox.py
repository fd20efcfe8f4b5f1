"""The inbox of PayCombat deliveries: stored raw and durably before they are acknowledged, once each."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from paycombat_gateway.storage.models import PaycombatDelivery, utcnow
from paycombat_gateway.storage.upsert import insert_unless_exists

__all__ = ["HELD_KEY_PREFIX", "deliveries_by_state", "record_delivery"]

# A delivery held for review is stored under this prefix and a hash of its own bytes (gateway/inbound.py).
HELD_KEY_PREFIX = "held:"


def record_delivery(
    session: Session,
    *,
    config_id: str,
    raw_body: bytes,
    headers: dict[str, str],
    signature_valid: bool,
    dedupe_key: str,
    kind: str,
    payin_id: str | None,
    match_state: str = "unmatched",
    payment_session_id: int | None = None,
    note: str | None = None,
    source: str = "webhook",
) -> tuple[int | None, bool]:
    """Store a delivery; the second copy of the same ``dedupe_key`` only bumps a counter.

    Returns the stored delivery's id (None for a duplicate) and whether this one was a duplicate. Safe when
    two processes record the same delivery at the same moment: the unique key admits one row.
    """
    delivery_id = insert_unless_exists(
        session,
        PaycombatDelivery,
        ("config_id", "dedupe_key"),
        config_id=config_id,
        raw_body=raw_body,
        headers=headers,
        signature_valid=signature_valid,
        dedupe_key=dedupe_key,
        kind=kind,
        payin_id=payin_id,
        match_state=match_state,
        payment_session_id=payment_session_id,
        note=note,
        received_at=utcnow(),
        processed_at=utcnow(),
        duplicates=0,
        source=source,
    )
    if delivery_id is not None:
        return int(delivery_id), False
    session.execute(
        update(PaycombatDelivery)
        .where(PaycombatDelivery.config_id == config_id, PaycombatDelivery.dedupe_key == dedupe_key)
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
