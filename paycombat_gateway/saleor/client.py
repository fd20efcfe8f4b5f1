"""A small Saleor GraphQL client for the calls this app makes: app id, ``transactionEventReport``,
``transactionUpdate`` (the transaction's name, link and buttons), and, for the settings page, the store's
channels and the order behind a transaction."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests

from paycombat_gateway.saleor.documents import load_document

__all__ = [
    "EventReportResult",
    "SaleorAuthError",
    "SaleorChannel",
    "SaleorClient",
    "SaleorError",
    "SaleorGraphQLError",
    "SaleorUnavailable",
    "TransactionOrder",
]

logger = logging.getLogger(__name__)


class SaleorError(Exception):
    retryable = False


class SaleorUnavailable(SaleorError):
    """Connection failed, timed out, or Saleor answered 5xx or garbage: try again later."""

    retryable = True


class SaleorAuthError(SaleorError):
    """Saleor refused the app token (401/403, or a permission error)."""


class SaleorGraphQLError(SaleorError):
    """Saleor answered with GraphQL errors."""


@dataclass(frozen=True, slots=True)
class EventReportResult:
    already_processed: bool
    transaction_event_id: str | None
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Saleor has the event (new, or a duplicate it recognised)."""
        return (
            not self.errors
            or self.already_processed
            or any(e.get("code") == "ALREADY_EXISTS" for e in self.errors)
        )


@dataclass(frozen=True, slots=True)
class SaleorChannel:
    slug: str
    name: str
    currency: str
    is_active: bool


@dataclass(frozen=True, slots=True)
class TransactionOrder:
    """Where a Saleor transaction belongs now: its order once there is one, else its checkout."""

    order_id: str | None
    order_number: str | None
    checkout_id: str | None


class SaleorClient:
    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (3.0, 15.0),
    ) -> None:
        self.api_url = api_url
        self._token = token
        self._session = session or requests.Session()
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SaleorClient(api_url={self.api_url!r})"

    def execute(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self._session.post(
                self.api_url,
                data=json.dumps({"query": document, "variables": variables or {}}, default=str),
                headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise SaleorUnavailable(f"could not reach Saleor: {type(exc).__name__}") from None
        if response.status_code in (401, 403):
            raise SaleorAuthError(f"Saleor refused the app token (HTTP {response.status_code})")
        if response.status_code >= 500:
            raise SaleorUnavailable(f"Saleor answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise SaleorUnavailable(f"Saleor answered HTTP {response.status_code} without JSON") from None
        if not isinstance(body, dict):
            raise SaleorUnavailable("Saleor answered with something other than a GraphQL response")
        errors = body.get("errors") or []
        if errors:
            messages = "; ".join(
                str(error.get("message", ""))[:200] for error in errors if isinstance(error, dict)
            )
            codes = {
                str((error.get("extensions") or {}).get("exception", {}).get("code", ""))
                for error in errors
                if isinstance(error, dict)
            }
            if "PermissionDenied" in codes or "permission" in messages.lower():
                raise SaleorAuthError(f"Saleor denied the request: {messages}")
            raise SaleorGraphQLError(f"Saleor answered with errors: {messages}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise SaleorUnavailable("Saleor's answer has no data")
        return data

    def get_app_id(self) -> str:
        data = self.execute(load_document("operations/app_id.graphql"))
        app = data.get("app")
        if not isinstance(app, dict) or not app.get("id"):
            raise SaleorAuthError("the token does not belong to an app")
        return str(app["id"])

    def channels(self) -> list[SaleorChannel]:
        data = self.execute(load_document("operations/channels.graphql"))
        rows = data.get("channels")
        if not isinstance(rows, list):
            raise SaleorAuthError("Saleor did not list its channels to the app token")
        return [
            SaleorChannel(
                slug=str(row["slug"]),
                name=str(row["name"]),
                currency=str(row["currencyCode"]).upper(),
                is_active=bool(row["isActive"]),
            )
            for row in rows
            if isinstance(row, dict)
        ]

    def transaction_order(self, transaction_id: str) -> TransactionOrder | None:
        """The order (or checkout) of ``transaction_id``; None when Saleor no longer has it."""
        data = self.execute(load_document("operations/transaction_order.graphql"), {"id": transaction_id})
        transaction = data.get("transaction")
        if not isinstance(transaction, dict):
            return None
        order = transaction.get("order") if isinstance(transaction.get("order"), dict) else None
        checkout = transaction.get("checkout") if isinstance(transaction.get("checkout"), dict) else None
        return TransactionOrder(
            order_id=str(order["id"]) if order else None,
            order_number=str(order["number"]) if order else None,
            checkout_id=str(checkout["id"]) if checkout else None,
        )

    def transaction_event_report(
        self,
        *,
        transaction_id: str,
        psp_reference: str,
        event_type: str,
        amount: Decimal | None,
        time: datetime | None = None,
        message: str | None = None,
        external_url: str | None = None,
        available_actions: list[str] | None = None,
    ) -> EventReportResult:
        variables: dict[str, Any] = {
            "id": transaction_id,
            "pspReference": psp_reference,
            "type": event_type,
            "amount": format(amount, "f") if amount is not None else None,
            "time": time.isoformat() if time else None,
            "externalUrl": external_url,
            "message": message[:512] if message else None,
            "availableActions": available_actions,
        }
        data = self.execute(load_document("operations/transaction_event_report.graphql"), variables)
        result = data.get("transactionEventReport")
        if not isinstance(result, dict):
            raise SaleorUnavailable("transactionEventReport returned nothing")
        event = result.get("transactionEvent") or {}
        return EventReportResult(
            already_processed=bool(result.get("alreadyProcessed")),
            transaction_event_id=event.get("id") if isinstance(event, dict) else None,
            errors=[error for error in result.get("errors") or [] if isinstance(error, dict)],
        )

    def transaction_update(
        self,
        *,
        transaction_id: str,
        name: str | None,
        external_url: str | None,
        available_actions: list[str] | None,
    ) -> EventReportResult:
        """Set what the order page shows of the transaction; an answer like an event report's."""
        variables = {
            "id": transaction_id,
            "name": name,
            "externalUrl": external_url,
            "availableActions": available_actions,
        }
        data = self.execute(load_document("operations/transaction_update.graphql"), variables)
        result = data.get("transactionUpdate")
        if not isinstance(result, dict):
            raise SaleorUnavailable("transactionUpdate returned nothing")
        return EventReportResult(
            already_processed=False,
            transaction_event_id=None,
            errors=[error for error in result.get("errors") or [] if isinstance(error, dict)],
        )
