"""PayCombat's API as the sandbox serves it: the paths of ``contract.ENDPOINTS``, the documented envelope,
X-token and signature checked before anything is read or stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paycombat_gateway.paycombat.contract import ENDPOINTS, Endpoint
from paycombat_gateway.paycombat.signing import js_stringify
from paycombat_gateway.sandbox.accounts import SandboxAccount
from paycombat_gateway.sandbox.auth import authenticate
from paycombat_gateway.sandbox.core import Sandbox
from paycombat_gateway.sandbox.errors import SandboxError
from paycombat_gateway.sandbox.models import all_method_descriptors, public
from paycombat_gateway.sandbox.validation import FieldErrors, field_error, parse_json_object

__all__ = ["MAX_BODY_BYTES", "api_routes", "envelope", "error_response"]

MAX_BODY_BYTES = 1_000_000


def envelope(data: Any, status_code: int = 200, message: str = "OK") -> Response:
    """PayCombat's success envelope, serialised like PayCombat's own JavaScript-style JSON."""
    body = {"status": True, "message": message, "data": public(data)}
    return Response(
        js_stringify(body).encode("utf-8"), status_code=status_code, media_type="application/json"
    )


def error_response(error: SandboxError) -> Response:
    """PayCombat's failure envelope (contract inference ``error_envelope``)."""
    return Response(
        js_stringify(error.body()).encode("utf-8"), status_code=error.status, media_type="application/json"
    )


@dataclass(frozen=True)
class ApiCall:
    """One authenticated API request, as a handler sees it."""

    account: SandboxAccount
    body: dict[str, Any]
    path: Mapping[str, str]
    query: Mapping[str, str]
    base_url: str


Handler = Callable[[ApiCall], Any]

# Answers other than 200 "OK": Create Payout's internal docs show "Created".
_SUCCESS = {"create_payout": (201, "Created")}


def _positive_int(query: Mapping[str, str], names: tuple[str, ...], default: int, maximum: int) -> int:
    for name in names:
        if name in query:
            text = query[name]
            if not text.isdigit() or not 1 <= int(text) <= maximum:
                raise field_error(name, f"must be a whole number from 1 to {maximum}")
            return int(text)
    return default


def _require_fields(body: Mapping[str, Any], *names: str) -> None:
    errors = FieldErrors()
    for name in names:
        if not isinstance(body.get(name), str) or not body[name]:
            errors.add(name, "is required")
    errors.raise_if_any()


def _handlers(sandbox: Sandbox) -> dict[str, Handler]:
    checkouts, ledger = sandbox.checkouts, sandbox.ledger

    def by_token(call: ApiCall) -> dict[str, Any]:
        _require_fields(call.body, "checkout_token")
        return checkouts.by_token(call.body["checkout_token"], call.account)

    def create_new_checkout(call: ApiCall) -> Any:
        _require_fields(call.body, "checkout_token", "payin_method_name")
        return checkouts.bind_method(by_token(call), call.body["payin_method_name"])

    def create_virtual_account_krw(call: ApiCall) -> Any:
        _require_fields(call.body, "checkout_token", "payin_method_name")
        return checkouts.open_virtual_account(by_token(call), call.body["payin_method_name"])

    def get_all_checkout(call: ApiCall) -> Any:
        page = _positive_int(call.query, ("page",), 1, 1_000_000)
        per_page = _positive_int(call.query, ("per_page", "limit"), 20, 100)
        return checkouts.page(call.account, page, per_page)

    def get_all_transaction(call: ApiCall) -> Any:
        return ledger.transactions(
            call.account,
            reference=call.query.get("reference"),
            record_type=call.query.get("type", "").upper() or None,
            page=_positive_int(call.query, ("page",), 1, 1_000_000),
            per_page=_positive_int(call.query, ("per_page", "limit"), 20, 100),
        )

    def va_bank_information(call: ApiCall) -> Any:
        return checkouts.virtual_account_of(checkouts.by_token(call.path["checkout_token"], call.account))

    def required_fields(call: ApiCall) -> Any:
        name = call.path["payin_method_name"]
        found = next((item for item in all_method_descriptors() if item["payin_method_name"] == name), None)
        if found is None:
            raise SandboxError(404, "Payin method not found")
        return found

    return {
        "create_payment_request": lambda call: checkouts.create(call.account, call.body, call.base_url),
        "create_new_checkout": create_new_checkout,
        "get_detail_checkout": lambda call: checkouts.get(call.path["checkout_id"], call.account),
        "get_all_checkout": get_all_checkout,
        "cancel_checkout": lambda call: checkouts.cancel(by_token(call)),
        "create_virtual_account_krw": create_virtual_account_krw,
        "get_va_bank_information_krw": va_bank_information,
        "create_payin": lambda call: ledger.create_payin(call.account, call.body),
        "retrieve_payin": lambda call: ledger.retrieve_payin(call.account, call.path["payin_id"]),
        "create_virtual_account": lambda call: ledger.create_virtual_account(call.account, call.body),
        "get_all_transaction": get_all_transaction,
        "find_transaction_by_id": lambda call: ledger.transaction(call.account, call.path["transaction_id"]),
        "get_all_payin_method": lambda call: all_method_descriptors(),
        "get_list_payment_method_by_currency": lambda call: all_method_descriptors(
            call.path["currency"].upper()
        ),
        "get_required_fields_by_payin_method": required_fields,
        "create_customer": lambda call: ledger.create_customer(call.account, call.body),
        "update_customer": lambda call: ledger.update_customer(call.account, call.body),
        "create_payout": lambda call: ledger.create_payout(call.account, call.body),
        "get_balance_payout": lambda call: ledger.balance(call.account, call.path["currency"]),
    }


def _route(sandbox: Sandbox, endpoint: Endpoint, handler: Handler | None) -> Route:
    status_code, message = _SUCCESS.get(endpoint.name, (200, "OK"))

    async def view(request: Request) -> Response:
        try:
            raw = await request.body()
            if len(raw) > MAX_BODY_BYTES:
                raise SandboxError(413, "The request body is too large")
            account = authenticate(sandbox.accounts, endpoint, request.headers, raw)
            if handler is None:
                raise SandboxError(501, f"The sandbox does not simulate {endpoint.name} yet")
            call = ApiCall(
                account=account,
                body=parse_json_object(raw) if endpoint.method in {"POST", "PATCH", "PUT"} else {},
                path=dict(request.path_params),
                query=dict(request.query_params),
                base_url=str(request.base_url),
            )
            data = await run_in_threadpool(handler, call)
        except SandboxError as error:
            return error_response(error)
        return envelope(data, status_code, message)

    return Route(endpoint.path, view, methods=[endpoint.method], name=f"paycombat:{endpoint.name}")


def api_routes(sandbox: Sandbox) -> list[Route]:
    """A route per endpoint of the contract; one the sandbox cannot simulate answers 501."""
    handlers = _handlers(sandbox)
    return [_route(sandbox, endpoint, handlers.get(name)) for name, endpoint in ENDPOINTS.items()]
