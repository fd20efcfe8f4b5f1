"""The sync webhooks this app subscribes to: ONE object per event feeds the manifest and the router."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from paycombat_gateway.saleor import payloads
from paycombat_gateway.saleor.documents import load_document

__all__ = ["SYNC_WEBHOOKS", "SyncEvent", "SyncWebhook", "webhook_for_path"]


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


@dataclass(frozen=True, slots=True)
class SyncWebhook:
    event: SyncEvent
    name: str
    payload_model: type[BaseModel]

    @property
    def path(self) -> str:
        return "/api/webhooks/saleor/" + self.event.value.lower().replace("_", "-")

    @property
    def query(self) -> str:
        return load_document(f"subscriptions/{self.event.value.lower()}.graphql")

    def manifest_entry(self, app_url: str) -> dict[str, object]:
        return {
            "name": self.name,
            "syncEvents": [self.event.value],
            "query": self.query,
            "targetUrl": app_url.rstrip("/") + self.path,
            "isActive": True,
        }


# No TRANSACTION_CHARGE_REQUESTED: PayCombat's hosted checkout charges at once, there is nothing to capture.
SYNC_WEBHOOKS: tuple[SyncWebhook, ...] = (
    SyncWebhook(SyncEvent.PAYMENT_GATEWAY_INITIALIZE_SESSION, "Payment gateway initialize session",
                payloads.PaymentGatewayInitializeSession),
    SyncWebhook(SyncEvent.TRANSACTION_INITIALIZE_SESSION, "Transaction initialize session",
                payloads.TransactionInitializeSession),
    SyncWebhook(SyncEvent.TRANSACTION_PROCESS_SESSION, "Transaction process session",
                payloads.TransactionProcessSession),
    SyncWebhook(SyncEvent.TRANSACTION_REFUND_REQUESTED, "Transaction refund requested",
                payloads.TransactionRefundRequested),
    SyncWebhook(SyncEvent.TRANSACTION_CANCELATION_REQUESTED, "Transaction cancelation requested",
                payloads.TransactionCancelationRequested),
)  # fmt: skip


def webhook_for_path(path: str) -> SyncWebhook | None:
    return next((webhook for webhook in SYNC_WEBHOOKS if webhook.path == path), None)
