"""PayCombat's API as the sandbox serves it: same paths and envelopes, X-token and signature checked."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paycombat_gateway.paycombat.contract import ENDPOINTS, PAYIN_METHODS_BY_CURRENCY
from paycombat_gateway.paycombat.signing import js_stringify, verify_webhook_signature
from paycombat_gateway.sandbox.accounts import SandboxAccount
from paycombat_gateway.sandbox.faults import FaultBook
from paycombat_gateway.sandbox.service import SandboxError, SandboxService

__all__ = ["api_routes", "envelope"]

Handler = Callable[[Request, SandboxAccount, dict[str, Any]], Any]


def _public(record: Any) -> Any:
    if isinstance(record, dict):
        return {key: _public(value) for key, value in record.items() if not key.startswith("_")}
    if isinstance(record, list):
        return [_public(item) for item in record]
    return record


def envelope(data: Any, status_code: int = 200, message: str = "OK") -> Response:
    body = {"status": True, "message": message, "data": _public(data)}
    return Response(
        js_stringify(body).encode("utf-8"), status_code=status_code, media_type="application/json"
    )


def failure(status_code: int, message: str) -> Response:
    return JSONResponse({"status": False, "message": message}, status_code=status_code)


class SandboxApi:
    def __init__(self, service: SandboxService, accounts: list[SandboxAccount], faults: FaultBook) -> None:
        self.service = service
        self.accounts = {account.x_token: account for account in accounts}
        self.faults = faults

    def route(self, endpoint_name: str, handler: Handler) -> Route:
        endpoint = ENDPOINTS[endpoint_name]

        async def endpoint_view(request: Request) -> Response:
            raw = await request.body()  # read first: a slow PayCombat has the request before it stalls
            fault = self.faults.take(request.url.path)
            if fault is not None:
                if fault.delay_seconds:
                    await asyncio.sleep(fault.delay_seconds)
                if fault.body is not None or fault.status is not None:
                    return Response(
                        fault.body or "", status_code=fault.status or 200, media_type="application/json"
                    )
            account = self.accounts.get(request.headers.get("x-token", ""))
            if account is None:
                return failure(401, "Unauthenticated: invalid X-token")
            body: dict[str, Any] = {}
            if endpoint.signed:
                if not verify_webhook_signature(raw, request.headers.get("signature"), account.signature_key):
                    return failure(401, "Invalid signature")
                try:
                    parsed = json.loads(raw or b"{}", parse_float=Decimal)
                except ValueError:
                    return failure(400, "Body must be JSON")
                if not isinstance(parsed, dict):
                    return failure(400, "Body must be a JSON object")
                body = parsed
            try:
                result = handler(request, account, body)
            except SandboxError as exc:
                return failure(exc.status, exc.message)
            if isinstance(result, Response):
                return result
            return envelope(result, 201 if endpoint.method == "POST" else 200)

        return Route(endpoint.path, endpoint_view, methods=[endpoint.method])


def api_routes(service: SandboxService, accounts: list[SandboxAccount], faults: FaultBook) -> list[Route]:
    api = SandboxApi(service, accounts, faults)

    def token_checkout(account: SandboxAccount, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("checkout_token"):
            raise SandboxError(422, "checkout_token is required")
        return service.checkout_by_token(str(body["checkout_token"]), account)

    def new_checkout(request: Request, account: SandboxAccount, body: dict[str, Any]) -> Any:
        if not body.get("payin_method_name"):
            raise SandboxError(422, "payin_method_name is required")
        return service.choose_method(token_checkout(account, body), str(body["payin_method_name"]))

    def all_checkouts(request: Request, account: SandboxAccount, body: dict[str, Any]) -> Any:
        page = max(int(request.query_params.get("page", "1") or 1), 1)
        limit = min(max(int(request.query_params.get("limit", "20") or 20), 1), 100)
        mine = [item for item in service.store.all("checkout") if item["_account"] == account.name]
        mine.sort(key=lambda item: item["created_at"], reverse=True)
        return {
            "data": mine[(page - 1) * limit : page * limit],
            "page": page,
            "limit": limit,
            "total": len(mine),
        }

    def va_info(request: Request, account: SandboxAccount, body: dict[str, Any]) -> Any:
        checkout = service.checkout_by_token(request.path_params["checkout_token"], account)
        return service.virtual_account_of(checkout)

    def methods(currency: str | None) -> list[dict[str, Any]]:
        table = (
            PAYIN_METHODS_BY_CURRENCY
            if currency is None
            else {currency: PAYIN_METHODS_BY_CURRENCY.get(currency, ())}
        )
        return [
            {
                "payin_method_name": name,
                "currency": code,
                "payin_method_category": "BANK" if "bank" in name else "CARD",
            }
            for code, names in table.items()
            for name in names
        ]

    def required_fields(request: Request, account: SandboxAccount, body: dict[str, Any]) -> Any:
        name = request.path_params["payin_method_name"]
        currency = next((code for code, names in PAYIN_METHODS_BY_CURRENCY.items() if name in names), None)
        if currency is None:
            raise SandboxError(404, "payin method not found")
        return {
            "payin_method_name": name,
            "currency": currency,
            "payin_method_param": [],
            "min_amount": 1,
            "max_amount": 10_000_000,
            "default_expiry_time_seconds": "172800",
        }

    handlers: dict[str, Handler] = {
        "create_payment_request": lambda r, a, b: service.create_payment_request(
            a, b, base_url=str(r.base_url)
        ),
        "create_new_checkout": new_checkout,
        "get_detail_checkout": lambda r, a, b: service.checkout_for(a, r.path_params["checkout_id"]),
        "get_all_checkout": all_checkouts,
        "cancel_checkout": lambda r, a, b: service.cancel(token_checkout(a, b)),
        "create_virtual_account_krw": lambda r, a, b: service.create_virtual_account(
            token_checkout(a, b), str(b.get("payin_method_name") or ""), a
        ),
        "get_va_bank_information_krw": va_info,
        "create_payin": lambda r, a, b: service.create_payin(a, b),
        "retrieve_payin": lambda r, a, b: service.payin_for(a, r.path_params["payin_id"]),
        "create_virtual_account": lambda r, a, b: service.create_account_record(
            "virtual_account", a, b, status="APPROVED", checkout_id=None, bank_name=b.get("payin_method_name")
        ),
        "get_all_payin_method": lambda r, a, b: methods(None),
        "get_list_payment_method_by_currency": lambda r, a, b: methods(r.path_params["currency"].upper()),
        "get_required_fields_by_payin_method": required_fields,
        "create_customer": lambda r, a, b: service.create_account_record("customer", a, b),
        "update_customer": lambda r, a, b: service.create_account_record("customer", a, b),
        "create_payout": lambda r, a, b: service.create_account_record("payout", a, b, status="PENDING"),
        "get_balance_payout": lambda r, a, b: service.balance(a, r.path_params["currency"]),
    }
    assert set(handlers) == set(ENDPOINTS), "every contract endpoint is served"
    # more specific paths first: /api/v1/checkout/... before /api/v1/checkout
    names = sorted(handlers, key=lambda name: -len(ENDPOINTS[name].path))
    return [api.route(name, handlers[name]) for name in names]
