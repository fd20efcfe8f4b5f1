"""The sandbox-only API under ``/_sandbox/``: settle a checkout without a browser, inspect webhook
deliveries, drop webhooks (and send them late), inject faults and add accounts. No X-token: it is for
a developer's own machine and tests.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paycombat_gateway.sandbox.accounts import SandboxAccount
from paycombat_gateway.sandbox.api import envelope, error_response
from paycombat_gateway.sandbox.core import Sandbox
from paycombat_gateway.sandbox.errors import SandboxError
from paycombat_gateway.sandbox.faults import parse_fault
from paycombat_gateway.sandbox.validation import field_error, parse_json_object

__all__ = ["ENDPOINTS", "control_routes"]

# (method, path, what it does): the routes below, ``GET /_sandbox/`` and the home page all list these.
ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("POST", "/_sandbox/checkouts/{checkout_id}/settle", "settle a checkout: success, failed or expired"),
    ("GET", "/_sandbox/checkouts/{checkout_id}", "a checkout with its sandbox state"),
    ("GET", "/_sandbox/deliveries", "webhook deliveries and their attempts (?event=, ?checkout_id=)"),
    ("POST", "/_sandbox/faults", "inject a fault on a path: a status, a delay or a body"),
    ("GET", "/_sandbox/faults", "the faults in force"),
    ("DELETE", "/_sandbox/faults", "clear every fault"),
    ("POST", "/_sandbox/webhooks/drop", "drop webhooks: of an account, or the next N"),
    ("GET", "/_sandbox/webhooks/drop", "what is being dropped, and the dropped webhooks"),
    ("DELETE", "/_sandbox/webhooks/drop", "stop dropping webhooks"),
    ("POST", "/_sandbox/webhooks/release", "send every dropped webhook now, late"),
    ("POST", "/_sandbox/accounts", "add a merchant account"),
    ("GET", "/_sandbox/accounts", "the merchant accounts (keys not shown)"),
)


def _optional_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise field_error(key, "must be a string")
    return value


def control_routes(sandbox: Sandbox) -> list[Route]:
    async def settle(request: Request) -> Response:
        """``{"outcome": "success"|"failed"|"expired", "payin_method_name"?, "amount"?}`` → the payin."""
        try:
            body = parse_json_object(await request.body())
            payin = await run_in_threadpool(
                sandbox.checkouts.settle,
                request.path_params["checkout_id"],
                str(body.get("outcome", "")),
                payin_method_name=_optional_text(body, "payin_method_name"),
                amount=body.get("amount"),
            )
        except SandboxError as error:
            return error_response(error)
        return envelope(payin)

    async def checkout(request: Request) -> Response:
        """A checkout with its sandbox state (``sandbox_status``), which PayCombat's object does not show."""
        try:
            record = sandbox.checkouts.get(request.path_params["checkout_id"])
        except SandboxError as error:
            return error_response(error)
        return envelope({**record, "sandbox_status": record["_status"]})

    async def deliveries(request: Request) -> Response:
        """Every webhook delivery with its attempts, oldest first (``?event=`` / ``?checkout_id=`` filter)."""
        match = {
            key: request.query_params[key] for key in ("event", "checkout_id") if key in request.query_params
        }
        return envelope(sandbox.store.filter("delivery", **match))

    async def add_fault(request: Request) -> Response:
        try:
            fault = parse_fault(json.loads(await request.body() or b"null", parse_float=Decimal))
        except ValueError:
            return error_response(SandboxError(400, "The request body must be JSON"))
        except SandboxError as error:
            return error_response(error)
        sandbox.faults.add(fault)
        return envelope([armed.to_dict() for armed in sandbox.faults.armed()], 201, "Created")

    async def list_faults(request: Request) -> Response:
        return envelope([fault.to_dict() for fault in sandbox.faults.armed()])

    async def clear_faults(request: Request) -> Response:
        sandbox.faults.clear()
        return envelope([])

    drops = sandbox.dispatcher.drops

    async def drop_webhooks(request: Request) -> Response:
        """``{"account": name or merchant_id}`` drops every webhook of that account from now on;
        ``{"count": N}`` drops the next N deliveries of any account. Both may be given."""
        try:
            body = parse_json_object(await request.body() or b"{}")
            account_name = _optional_text(body, "account")
            count = body.get("count")
            if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
                raise field_error("count", "must be a whole number of at least 1")
            if account_name is None and count is None:
                raise SandboxError(422, "Name an account, a count of deliveries, or both")
            if account_name is not None:
                account = next(
                    (a for a in sandbox.accounts.all() if account_name in (a.name, a.merchant_id)), None
                )
                if account is None:
                    raise field_error("account", "is not an account of this sandbox")
                drops.drop_account(account.merchant_id)
            if count is not None:
                drops.drop_next(count)
        except SandboxError as error:
            return error_response(error)
        return envelope(drops.to_dict(), 201, "Created")

    async def list_drops(request: Request) -> Response:
        return envelope(drops.to_dict())

    async def stop_dropping(request: Request) -> Response:
        drops.clear()
        return envelope(drops.to_dict())

    async def release_dropped(request: Request) -> Response:
        """Send every dropped webhook now, late; ``data.released`` says how many."""
        released = await run_in_threadpool(sandbox.dispatcher.release_dropped)
        return envelope({"released": released})

    async def add_account(request: Request) -> Response:
        """``{"name", "x_token", "signature_key"}``: one more merchant, from now on."""
        try:
            body = parse_json_object(await request.body())
            account = SandboxAccount(
                x_token=str(body.get("x_token") or ""),
                signature_key=str(body.get("signature_key") or ""),
                name=str(body.get("name") or "sandbox"),
            )
            sandbox.accounts.add(account)
        except SandboxError as error:
            return error_response(error)
        except ValueError as exc:
            return error_response(SandboxError(422, str(exc)))
        return envelope(account.public(), 201, "Created")

    async def list_accounts(request: Request) -> Response:
        return envelope([account.public() for account in sandbox.accounts.all()])

    handlers = {
        ("POST", "/_sandbox/checkouts/{checkout_id}/settle"): settle,
        ("GET", "/_sandbox/checkouts/{checkout_id}"): checkout,
        ("GET", "/_sandbox/deliveries"): deliveries,
        ("POST", "/_sandbox/faults"): add_fault,
        ("GET", "/_sandbox/faults"): list_faults,
        ("DELETE", "/_sandbox/faults"): clear_faults,
        ("POST", "/_sandbox/webhooks/drop"): drop_webhooks,
        ("GET", "/_sandbox/webhooks/drop"): list_drops,
        ("DELETE", "/_sandbox/webhooks/drop"): stop_dropping,
        ("POST", "/_sandbox/webhooks/release"): release_dropped,
        ("POST", "/_sandbox/accounts"): add_account,
        ("GET", "/_sandbox/accounts"): list_accounts,
    }
    index = [{"method": method, "path": path, "does": does} for method, path, does in ENDPOINTS]

    async def describe(request: Request) -> Response:
        """What ``/_sandbox/`` offers (the home page lists the same)."""
        return envelope(index)

    return [
        Route("/_sandbox/", describe, methods=["GET"], name="sandbox_control"),
        *(Route(path, handlers[method, path], methods=[method]) for method, path, _ in ENDPOINTS),
    ]
