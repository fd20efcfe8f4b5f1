"""The hosted checkout page a shopper sees at ``checkout_url``: plain HTML forms, no JavaScript needed.

It shows what is being paid and the methods for the currency, and offers Pay / Fail / Cancel / Let it
expire; for KRW the shopper first picks a bank, sees the virtual account to transfer to, then simulates
the transfer. Each action does what PayCombat would (payin, signed webhook) and then sends the browser
(303) to the checkout's ``advanced_redirect_url`` for the outcome, else ``redirect_url``, else a result
page. A settled checkout only ever shows its final state. Cancelling sends no webhook (contract
inference ``hosted_page_cancel``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from paycombat_gateway.money import quantize, to_decimal
from paycombat_gateway.paycombat.contract import KRW_BANKS, PAYIN_METHODS_BY_CURRENCY
from paycombat_gateway.sandbox.core import Sandbox
from paycombat_gateway.sandbox.errors import SandboxError
from paycombat_gateway.sandbox.models import CheckoutState

__all__ = ["display_amount", "hosted_routes"]

_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(_HERE / "templates"))

# form button value -> settle outcome
_SETTLE_ACTIONS = {"pay": "success", "fail": "failed", "expire": "expired"}
_STATE_SENTENCES = {
    CheckoutState.COMPLETED: "The payment was received.",
    CheckoutState.FAILED: "The payment failed.",
    CheckoutState.EXPIRED: "The time to pay ran out.",
    CheckoutState.CANCELLED: "The payment was cancelled.",
}


def display_amount(amount: Any, currency: str) -> str:
    """``amount`` with the currency's exact number of decimals and thousands separators (15,000 / 25.50)."""
    return f"{quantize(to_decimal(amount), currency, exact=False):,}"


def hosted_routes(sandbox: Sandbox) -> list[Route | Mount]:
    checkouts = sandbox.checkouts

    def render(
        request: Request, checkout: dict[str, Any], *, status_code: int = 200, error: str | None = None
    ) -> Response:
        state = CheckoutState(checkout["_status"])
        virtual_account = (
            sandbox.store.get("virtual_account", checkout["_virtual_account_id"])
            if checkout["_virtual_account_id"]
            else None
        )
        account = sandbox.accounts.by_merchant_id(checkout["_account"])
        return templates.TemplateResponse(
            request,
            "checkout.html",
            {
                "checkout": checkout,
                "merchant": account.name if account else "",
                "identifier": account.identifier if account else "",
                "is_open": state is CheckoutState.OPEN,
                "state_word": state.value.lower(),
                "state_sentence": _STATE_SENTENCES.get(state, ""),
                "amount": display_amount(checkout["amount"], checkout["currency"]),
                "methods": PAYIN_METHODS_BY_CURRENCY.get(checkout["currency"], ()),
                "is_krw": checkout["currency"] == "KRW",
                "banks": KRW_BANKS,
                "virtual_account": virtual_account,
                "error": error,
                "action_url": str(request.url_for("sandbox_checkout_action")),
            },
            status_code=status_code,
        )

    def not_found(request: Request) -> Response:
        return templates.TemplateResponse(request, "not_found.html", {}, status_code=404)

    def find(token: str, identifier: str | None) -> dict[str, Any]:
        checkout = checkouts.by_token(token)
        account = sandbox.accounts.by_merchant_id(checkout["_account"])
        if identifier is not None and (account is None or identifier != account.identifier):
            raise SandboxError(404, "Checkout not found")
        return checkout

    async def show(request: Request) -> Response:
        token = request.query_params.get("token", "")
        try:
            checkout = await run_in_threadpool(find, token, request.query_params.get("identifier", ""))
        except SandboxError:
            return not_found(request)
        return render(request, checkout)

    def perform(checkout: dict[str, Any], action: str, form: dict[str, str]) -> dict[str, Any]:
        """Carry out one button press; returns the checkout as it is afterwards."""
        if action == "select_bank":
            return checkouts.open_virtual_account(checkout, form.get("bank", ""))
        if action == "cancel":
            if checkout["_status"] != CheckoutState.OPEN.value:
                raise SandboxError(409, "This checkout is already closed")
            return checkouts.cancel(checkout)
        if action not in _SETTLE_ACTIONS:
            raise SandboxError(400, "Unknown action")
        method = form.get("method") or None
        if action == "pay" and checkout["currency"] == "KRW" and not checkout["_virtual_account_id"]:
            raise SandboxError(400, "Choose a bank first: the payment is a transfer to a virtual account")
        checkouts.settle(checkout["id"], _SETTLE_ACTIONS[action], payin_method_name=method)
        return checkouts.get(checkout["id"])

    async def act(request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        try:
            checkout = await run_in_threadpool(find, form.get("token", ""), form.get("identifier"))
        except SandboxError:
            return not_found(request)
        action = form.get("action", "")
        try:
            checkout = await run_in_threadpool(perform, checkout, action, form)
        except SandboxError as error:
            current = await run_in_threadpool(checkouts.get, checkout["id"])
            status_code = 409 if current["_status"] != CheckoutState.OPEN.value else error.status
            return render(request, current, status_code=status_code, error=error.message)
        if checkout["_status"] == CheckoutState.OPEN.value:  # a bank was chosen: show its account
            return RedirectResponse(checkout["checkout_url"], status_code=303)
        target = checkouts.return_url(checkout)
        if target:
            return RedirectResponse(target, status_code=303)
        return render(request, checkout)

    return [
        Route("/checkout/", show, methods=["GET"], name="sandbox_checkout"),
        Route("/checkout/action", act, methods=["POST"], name="sandbox_checkout_action"),
        Mount("/checkout/static", StaticFiles(directory=str(_HERE / "static")), name="sandbox_static"),
    ]
