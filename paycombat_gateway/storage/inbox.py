"""The inbox of PayCombat deliveries: stored raw and durably before they are acknowledged, once each."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paycombat_gateway.storage.models import PaycombatDelivery

__all__ = ["deliveries_by_state", "record_delivery"]


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
) -> tuple[PaycombatDelivery, bool]:
    """Store a delivery; the second copy of the same ``dedupe_key`` only bumps a counter.

    Returns the stored delivery and whether this one was a duplicate. Safe when two processes record
    the same delivery at the same moment: the unique constraint admits one row.
    """
    row = PaycombatDelivery(
        config_id=config_id,
        raw_body=raw_body,
        headers=headers,
        signature_valid=signature_valid,
        dedupe_key=dedupe_key,
        kind=kind,
        payin_id=payin_id,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = session.scalars(
            select(PaycombatDelivery)
            .where(PaycombatDelivery.config_id == config_id, PaycombatDelivery.dedupe_key == dedupe_key)
            .with_for_update()
        ).first()
        if existing is None:
            raise
        existing.duplicates += 1
        return existing, True
    return row, False


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
