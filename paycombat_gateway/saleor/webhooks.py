"""The webhooks this app subscribes to: ONE object per event feeds the manifest and the router.

The payment webhooks are sync (Saleor waits for the answer); ``APP_DELETED`` is async, a notice that
needs only a 2xx. Both kinds are signed and verified the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from paycombat_gateway.saleor import payloads
from paycombat_gateway.saleor.documents import load_document

__all__ = [
    "ASYNC_WEBHOOKS",
    "SYNC_WEBHOOKS",
    "WEBHOOKS",
    "AsyncEvent",
    "SaleorWebhook",
    "SyncEvent",
    "SyncWebhook",
    "webhook_for_path",
]


class SyncEvent(StrEnum):
    PAYMENT_GATEWAY_INITIALIZE_SESSION = "PAYMENT_GATEWAY_INITIALIZE_SESSION"
    TRANSACTION_INITIALIZE_SESSION = "TRANSACTION_INITIALIZE_SESSION"
    TRANSACTION_PROCESS_SESSION = "TRANSACTION_PROCESS_SESSION"
    TRANSACTION_REFUND_REQUESTED = "TRANSACTION_REFUND_REQUESTED"
    TRANSACTION_CANCELATION_REQUESTED = "TRANSACTION_CANCELATION_REQUESTED"

    @property
    def header_value(self) -> str:
        """What Saleor puts in ``Saleor-Event``: the lowercase event name."""
        return self.value.lower()


class AsyncEvent(StrEnum):
    # Saleor 3.23+ delivers an app's own lifecycle events to it, with no permission needed; older Saleors
    # never tell the app being deleted (`paycombat-gateway purge` covers them).
    APP_DELETED = "APP_DELETED"

    @property
    def header_value(self) -> str:
        return self.value.lower()


@dataclass(frozen=True, slots=True)
class SaleorWebhook:
    event: SyncEvent | AsyncEvent
    name: str
    payload_model: type[BaseModel]

    @property
    def is_async(self) -> bool:
        return isinstance(self.event, AsyncEvent)

    @property
    def path(self) -> str:
        return "/api/webhooks/saleor/" + self.event.value.lower().replace("_", "-")

    @property
    def query(self) -> str:
        return load_document(f"subscriptions/{self.event.value.lower()}.graphql")

    def manifest_entry(self, app_url: str) -> dict[str, object]:
        return {
            "name": self.name,
            "asyncEvents" if self.is_async else "syncEvents": [self.event.value],
            "query": self.query,
            "targetUrl": app_url.rstrip("/") + self.path,
            "isActive": True,
        }


SyncWebhook = SaleorWebhook  # the name the payment flows' code and tests know it by

# No TRANSACTION_CHARGE_REQUESTED: PayCombat's hosted checkout charges at once, there is nothing to capture.
SYNC_WEBHOOKS: tuple[SaleorWebhook, ...] = (
    SaleorWebhook(SyncEvent.PAYMENT_GATEWAY_INITIALIZE_SESSION, "Payment gateway initialize session",
                  payloads.PaymentGatewayInitializeSession),
    SaleorWebhook(SyncEvent.TRANSACTION_INITIALIZE_SESSION, "Transaction initialize session",
                  payloads.TransactionInitializeSession),
    SaleorWebhook(SyncEvent.TRANSACTION_PROCESS_SESSION, "Transaction process session",
                  payloads.TransactionProcessSession),
    SaleorWebhook(SyncEvent.TRANSACTION_REFUND_REQUESTED, "Transaction refund requested",
                  payloads.TransactionRefundRequested),
    SaleorWebhook(SyncEvent.TRANSACTION_CANCELATION_REQUESTED, "Transaction cancelation requested",
                  payloads.TransactionCancelationRequested),
)  # fmt: skip
ASYNC_WEBHOOKS: tuple[SaleorWebhook, ...] = (
    SaleorWebhook(AsyncEvent.APP_DELETED, "App deleted", payloads.AppDeleted),
)
WEBHOOKS = SYNC_WEBHOOKS + ASYNC_WEBHOOKS


def webhook_for_path(path: str) -> SaleorWebhook | None:
    return next((webhook for webhook in WEBHOOKS if webhook.path == path), None)
