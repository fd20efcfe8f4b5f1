"""Plain copies of stored rows, safe to use after their database session has closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from paycombat_gateway.gateway.settlement import SessionState, SessionView
from paycombat_gateway.money import quantize
from paycombat_gateway.storage.models import PaymentSession

__all__ = ["SessionSnapshot", "snapshot"]


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    id: int
    config_id: str
    state: SessionState
    merchant_reference: str
    currency: str
    amount: Decimal
    checkout_id: str | None
    checkout_token: str | None
    checkout_url: str | None
    expires_at: str | None
    payin_method_name: str | None
    virtual_account: dict[str, Any] | None
    payin_id: str | None
    paid_amount: Decimal | None
    last_error: str | None
    updated_at: datetime
    held_reason: str | None = None  # a stated success that proved no payment waits for a person

    def view(self) -> SessionView:
        return SessionView(
            state=self.state,
            checkout_id=self.checkout_id or self.merchant_reference,
            requested_amount=self.amount,
            currency=self.currency,
            payin_id=self.payin_id,
            paid_amount=self.paid_amount,
        )


def snapshot(row: PaymentSession) -> SessionSnapshot:
    return SessionSnapshot(
        id=row.id,
        config_id=row.config_id,
        state=SessionState(row.state),
        merchant_reference=row.merchant_reference,
        currency=row.currency,
        amount=quantize(Decimal(row.amount), row.currency, exact=False),
        checkout_id=row.checkout_id,
        checkout_token=row.checkout_token,
        checkout_url=row.checkout_url,
        expires_at=row.expires_at,
        payin_method_name=row.payin_method_name,
        virtual_account=dict(row.virtual_account) if row.virtual_account else None,
        payin_id=row.payin_id,
        paid_amount=quantize(Decimal(row.paid_amount), row.currency, exact=False)
        if row.paid_amount is not None
        else None,
        last_error=row.last_error,
        updated_at=row.updated_at,
        held_reason=row.held_reason,
    )
