"""A small Saleor GraphQL client for the calls this app makes: app id, ``transactionEventReport``,
``transactionUpdate`` (the transaction's name, link and buttons), for the settings page, the store's
channels and the order behind a transaction, and for the problems check, Saleor's version and the
app's App Problems (Saleor 3.22+).

Blocking calls go through a ``requests`` session (the CLI's commands only); the server awaits every
call through an ``aiohttp`` session (the ``_async`` methods; the library the async PayCombat client
uses), so waiting on Saleor holds no thread, and each call ends by its ``deadline`` (connect, headers
and the whole answer, read with a size limit; ``outbound``). Both build the request and read the
answer with the same code.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NotRequired, TypedDict, Unpack

import aiohttp
import requests

from paycombat_gateway.outbound import (
    MAX_SALEOR_ANSWER_BYTES,
    SALEOR_REPORT,
    AnswerTooLarge,
    Deadline,
    request_bounded,
)
from paycombat_gateway.saleor.documents import load_document

__all__ = [
    "AppProblem",
    "EventReport",
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
class AppProblem:
    """One of the app's problems as Saleor's Dashboard shows it; ``dismissed_by`` APP, USER or None."""

    key: str
    message: str
    dismissed_by: str | None


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
        http: aiohttp.ClientSession | None = None,
        timeout: tuple[float, float] = (3.0, 15.0),
        deadline: Deadline = SALEOR_REPORT,
    ) -> None:
        self.api_url = api_url
        self._token = token
        self._session = session
        self._http = http
        self.timeout = timeout
        self.deadline = deadline

    def __repr__(self) -> str:
        return f"SaleorClient(api_url={self.api_url!r})"

    def _request(self, document: str, variables: dict[str, Any] | None) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"query": document, "variables": variables or {}}, default=str).encode()
        return body, {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}

    def execute(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body, headers = self._request(document, variables)
        if self._session is None:
            self._session = requests.Session()
        try:
            response = self._session.post(
                self.api_url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise SaleorUnavailable(f"could not reach Saleor: {type(exc).__name__}") from None
        return self._data(response.status_code, response.content)

    async def execute_async(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """``execute`` on the event loop, through the ``http`` client given to the constructor."""
        if self._http is None:
            raise RuntimeError("SaleorClient.execute_async needs the http= client")
        body, headers = self._request(document, variables)
        try:
            status, content = await request_bounded(
                self._http, "POST", self.api_url, deadline=self.deadline,
                limit=MAX_SALEOR_ANSWER_BYTES, data=body, headers=headers,
            )  # fmt: skip
        except TimeoutError:
            raise SaleorUnavailable(f"Saleor did not answer within {self.deadline.total:g} s") from None
        except (aiohttp.ClientError, AnswerTooLarge) as exc:
            raise SaleorUnavailable(f"could not reach Saleor: {type(exc).__name__}") from None
        return self._data(status, content)

    def _data(self, status: int, content: bytes) -> dict[str, Any]:
        """Saleor's ``data``, or the error its answer amounts to."""
        if status in (401, 403):
            raise SaleorAuthError(f"Saleor refused the app token (HTTP {status})")
        if status >= 500:
            raise SaleorUnavailable(f"Saleor answered HTTP {status}")
        try:
            body = json.loads(content)
        except ValueError:
            raise SaleorUnavailable(f"Saleor answered HTTP {status} without JSON") from None
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
        return _app_id(self.execute(load_document(APP_ID)))

    async def get_app_id_async(self) -> str:
        """``get_app_id`` on the event loop (the install handshake)."""
        return _app_id(await self.execute_async(load_document(APP_ID)))

    def channels(self) -> list[SaleorChannel]:
        return _channels(self.execute(load_document(CHANNELS)))

    async def channels_async(self) -> list[SaleorChannel]:
        """``channels`` on the event loop (the settings page)."""
        return _channels(await self.execute_async(load_document(CHANNELS)))

    def transaction_order(self, transaction_id: str) -> TransactionOrder | None:
        """The order (or checkout) of ``transaction_id``; None when Saleor no longer has it."""
        return _transaction_order(self.execute(load_document(TRANSACTION_ORDER), {"id": transaction_id}))

    async def transaction_order_async(self, transaction_id: str) -> TransactionOrder | None:
        """``transaction_order`` on the event loop (the settings page's recent payments)."""
        return _transaction_order(
            await self.execute_async(load_document(TRANSACTION_ORDER), {"id": transaction_id})
        )

    def transaction_event_report(self, **report: Unpack[EventReport]) -> EventReportResult:
        data = self.execute(load_document(EVENT_REPORT), _event_report_variables(report))
        return _event_report_result(data)

    async def transaction_event_report_async(self, **report: Unpack[EventReport]) -> EventReportResult:
        """``transaction_event_report`` on the event loop."""
        data = await self.execute_async(load_document(EVENT_REPORT), _event_report_variables(report))
        return _event_report_result(data)

    def transaction_update(self, **update: Unpack[TransactionUpdate]) -> EventReportResult:
        """Set what the order page shows of the transaction; an answer like an event report's."""
        data = self.execute(load_document(UPDATE), _update_variables(update))
        return _update_result(data)

    async def transaction_update_async(self, **update: Unpack[TransactionUpdate]) -> EventReportResult:
        """``transaction_update`` on the event loop."""
        data = await self.execute_async(load_document(UPDATE), _update_variables(update))
        return _update_result(data)

    async def saleor_version_async(self) -> str:
        """Saleor's version, e.g. ``3.23.28`` (any app may read it)."""
        data = await self.execute_async(load_document("operations/saleor_version.graphql"))
        shop = data.get("shop")
        if not isinstance(shop, dict) or not isinstance(shop.get("version"), str):
            raise SaleorGraphQLError("Saleor did not say its version")
        return str(shop["version"])

    async def app_problems_async(self) -> list[AppProblem]:
        """The app's problems (Saleor 3.22+ only), dismissed ones included."""
        data = await self.execute_async(load_document("operations/app_problems.graphql"))
        app = data.get("app")
        rows = app.get("problems") if isinstance(app, dict) else None
        if not isinstance(rows, list):
            raise SaleorGraphQLError("Saleor did not list the app's problems")
        return [
            AppProblem(
                key=str(row.get("key")),
                message=str(row.get("message")),
                dismissed_by=str(row["dismissed"].get("by"))
                if isinstance(row.get("dismissed"), dict)
                else None,
            )
            for row in rows
            if isinstance(row, dict)
        ]

    async def app_problem_create_async(self, key: str, message: str) -> None:
        """Show a problem in the Dashboard (Saleor 3.22+ only)."""
        data = await self.execute_async(
            load_document("operations/app_problem_create.graphql"), {"key": key, "message": message}
        )
        _raise_mutation_errors(data, "appProblemCreate")

    async def app_problem_dismiss_async(self, keys: list[str]) -> None:
        """Dismiss the app's problems with these keys (at most 100; Saleor 3.22+ only)."""
        data = await self.execute_async(
            load_document("operations/app_problem_dismiss.graphql"), {"keys": keys}
        )
        _raise_mutation_errors(data, "appProblemDismiss")


def _raise_mutation_errors(data: dict[str, Any], mutation: str) -> None:
    answer = data.get(mutation)
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if not isinstance(answer, dict) or errors:
        described = "; ".join(
            f"{e.get('code')}: {e.get('message')}" for e in errors or [] if isinstance(e, dict)
        )
        raise SaleorGraphQLError(f"Saleor refused {mutation}: {described or 'no answer'}"[:500])


APP_ID = "operations/app_id.graphql"
CHANNELS = "operations/channels.graphql"
TRANSACTION_ORDER = "operations/transaction_order.graphql"
EVENT_REPORT = "operations/transaction_event_report.graphql"
UPDATE = "operations/transaction_update.graphql"


class EventReport(TypedDict):
    """One transaction event to report, as ``transaction_event_report``'s keyword arguments."""

    transaction_id: str
    psp_reference: str
    event_type: str
    amount: Decimal | None
    time: NotRequired[datetime | None]
    message: NotRequired[str | None]
    external_url: NotRequired[str | None]
    available_actions: NotRequired[list[str] | None]


class TransactionUpdate(TypedDict):
    """What ``transaction_update`` sets, as its keyword arguments."""

    transaction_id: str
    name: str | None
    external_url: str | None
    available_actions: list[str] | None


def _app_id(data: dict[str, Any]) -> str:
    app = data.get("app")
    if not isinstance(app, dict) or not app.get("id"):
        raise SaleorAuthError("the token does not belong to an app")
    return str(app["id"])


def _channels(data: dict[str, Any]) -> list[SaleorChannel]:
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


def _transaction_order(data: dict[str, Any]) -> TransactionOrder | None:
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


def _event_report_variables(report: EventReport) -> dict[str, Any]:
    amount, time, message = report["amount"], report.get("time"), report.get("message")
    return {
        "id": report["transaction_id"],
        "pspReference": report["psp_reference"],
        "type": report["event_type"],
        "amount": format(amount, "f") if amount is not None else None,
        "time": time.isoformat() if time else None,
        "externalUrl": report.get("external_url"),
        "message": message[:512] if message else None,
        "availableActions": report.get("available_actions"),
    }


def _event_report_result(data: dict[str, Any]) -> EventReportResult:
    result = data.get("transactionEventReport")
    if not isinstance(result, dict):
        raise SaleorUnavailable("transactionEventReport returned nothing")
    event = result.get("transactionEvent") or {}
    return EventReportResult(
        already_processed=bool(result.get("alreadyProcessed")),
        transaction_event_id=event.get("id") if isinstance(event, dict) else None,
        errors=[error for error in result.get("errors") or [] if isinstance(error, dict)],
    )


def _update_variables(update: TransactionUpdate) -> dict[str, Any]:
    return {
        "id": update["transaction_id"],
        "name": update["name"],
        "externalUrl": update["external_url"],
        "availableActions": update["available_actions"],
    }


def _update_result(data: dict[str, Any]) -> EventReportResult:
    result = data.get("transactionUpdate")
    if not isinstance(result, dict):
        raise SaleorUnavailable("transactionUpdate returned nothing")
    return EventReportResult(
        already_processed=False,
        transaction_event_id=None,
        errors=[error for error in result.get("errors") or [] if isinstance(error, dict)],
    )
