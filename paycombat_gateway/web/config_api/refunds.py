"""The configuration API's refund part: refunds to carry out in PayCombat, and the merchant's answer.

Kept apart from the configuration types so each half reads on its own; ``schema.py`` merges the
query and mutation roots. Decisions go through ``gateway.refunds`` exactly as the CLI's do.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from paycombat_gateway.gateway import refunds
from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.web.config_api.auth import DashboardIdentity

__all__ = ["RefundMutation", "RefundQuery"]

STATES = ("owed", "refunded", "declined")


@strawberry.type(description="A refund Saleor asked for; PayCombat refunds only in its own dashboard.")
class Refund:
    id: str
    amount: Decimal
    currency: str
    state: str
    payin_id: str | None
    checkout_id: str | None
    source_type: str
    source_id: str | None
    order_number: str | None = strawberry.field(description="The Saleor order's number, as Saleor sent it.")
    saleor_transaction_id: str
    channel: str
    requested_by: str
    requested_at: datetime
    paycombat_reference: str | None
    decline_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    steps: list[str]


@strawberry.type
class RefundDecision:
    ok: bool
    message: str
    refund: Refund | None


def _present(view: refunds.RefundView) -> Refund:
    return Refund(
        id=view.id, amount=view.amount, currency=view.currency, state=view.state, payin_id=view.payin_id,
        checkout_id=view.checkout_id, source_type=view.source_type, source_id=view.source_id,
        order_number=view.order_number, saleor_transaction_id=view.saleor_transaction_id, channel=view.channel,
        requested_by=view.requested_by, requested_at=view.requested_at,
        paycombat_reference=view.paycombat_reference, decline_reason=view.decline_reason,
        decided_by=view.decided_by, decided_at=view.decided_at, steps=view.steps,
    )  # fmt: skip


def _who(identity: DashboardIdentity) -> str:
    return f"dashboard: {identity.user.email or identity.user.user_id or 'staff user'}"


@strawberry.type
class RefundQuery:
    @strawberry.field(description="Refunds of this Saleor, those still owed first; `state` filters.")
    async def refunds(self, info: Info, state: str | None = None) -> list[Refund]:
        ctx: GatewayContext = info.context["gateway"]
        identity: DashboardIdentity = info.context["identity"]
        wanted = (state,) if state in STATES else None
        views = await in_thread(
            refunds.list_refunds, ctx, installation_id=identity.installation_id, states=wanted
        )
        return [_present(view) for view in views]


async def _decide(info: Info, decide: str, refund_id: str, note: str | None) -> RefundDecision:
    ctx: GatewayContext = info.context["gateway"]
    identity: DashboardIdentity = info.context["identity"]

    def run() -> RefundDecision:
        try:
            if decide == "confirm":
                view, changed = refunds.confirm_refund(
                    ctx, refund_id, reference=note, decided_by=_who(identity),
                    installation_id=identity.installation_id,
                )  # fmt: skip
            else:
                view, changed = refunds.decline_refund(
                    ctx, refund_id, reason=note or "", decided_by=_who(identity),
                    installation_id=identity.installation_id,
                )  # fmt: skip
        except refunds.RefundError as exc:
            return RefundDecision(ok=False, message=exc.message, refund=None)
        if not changed:
            return RefundDecision(
                ok=True,
                message=f"Already marked {view.state}; Saleor was told before.",
                refund=_present(view),
            )
        info.context["notify_outbox"]()
        event = "refunded" if view.state == "refunded" else "declined"
        return RefundDecision(
            ok=True,
            message=f"Marked {event}: Saleor's order shows it within seconds.",
            refund=_present(view),
        )

    return await in_thread(run)


@strawberry.type
class RefundMutation:
    @strawberry.mutation(description="The refund was made in PayCombat: report REFUND_SUCCESS to Saleor.")
    async def confirm_refund(self, info: Info, id: str, reference: str | None = None) -> RefundDecision:
        return await _decide(info, "confirm", id, reference)

    @strawberry.mutation(description="The refund will not be made: report REFUND_FAILURE with the reason.")
    async def decline_refund(self, info: Info, id: str, reason: str) -> RefundDecision:
        return await _decide(info, "decline", id, reason)
