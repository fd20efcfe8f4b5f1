"""The hosted checkout page a shopper sees at ``checkout_url``; plain HTML forms, no JavaScript needed."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from paycombat_gateway.money import quantize, to_decimal
from paycombat_gateway.paycombat.contract import KRW_BANKS, PAYIN_METHODS_BY_CURRENCY
from paycombat_gateway.sandbox.accounts import SandboxAccount
from paycombat_gateway.sandbox.service import SandboxError, SandboxService

__all__ = ["hosted_routes"]

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
_OUTCOME_WORDS = {"success": "completed", "failed": "failed", "expired": "expired", "cancelled": "cancelled"}


def _display_amount(checkout: dict[str, object]) -> str:
    amount = quantize(to_decimal(checkout["amount"]), str(checkout["currency"]), exact=False)
    return f"{amount:,}"


def hosted_routes(service: SandboxService, accounts: list[SandboxAccount]) -> list[Route]:
    by_name = {account.name: account for account in accounts}

    def page(request: Request, checkout: dict[str, object], status_code: int = 200) -> Response:
        virtual_account = service.store.find("virtual_account", checkout_id=checkout["id"])
        return templates.TemplateResponse(
            request,
            "checkout.html",
            {
                "checkout": checkout,
                "state": checkout["_status"],
                "amount": _display_amount(checkout),
                "methods": PAYIN_METHODS_BY_CURRENCY.get(str(checkout["currency"]), ()),
                "banks": KRW_BANKS,
                "virtual_account": virtual_account,
                "action_url": str(request.url_for("sandbox_checkout_action")),
            },
            status_code=status_code,
        )

    async def show(request: Request) -> Response:
        try:
            checkout = service.checkout_by_token(request.query_params.get("token", ""))
        except SandboxError:
            return Response("Unknown checkout.", status_code=404, media_type="text/plain")
        return page(request, checkout)

    async def act(request: Request) -> Response:
        form = await request.form()
        try:
            checkout = service.checkout_by_token(str(form.get("token", "")))
        except SandboxError:
            return Response("Unknown checkout.", status_code=404, media_type="text/plain")
        account = by_name[str(checkout["_account"])]
        action = str(form.get("action", ""))
        try:
            if action == "select_bank":
                checkout = service.create_virtual_account(checkout, str(form.get("bank", "")), account)
                return RedirectResponse(str(checkout["checkout_url"]), status_code=303)
            if action == "cancel":
                service.cancel(checkout)
                outcome = "cancelled"
            elif action in {"pay", "fail", "expire"}:
                outcome = {"pay": "success", "fail": "failed", "expire": "expired"}[action]
                method = form.get("method")
                service.settle(checkout, account, outcome, payin_method_name=str(method) if method else None)
            else:
                return Response("Unknown action.", status_code=400, media_type="text/plain")
        except SandboxError as exc:
            return Response(exc.message, status_code=exc.status, media_type="text/plain")
        target = service.return_url(checkout, outcome)
        if target:
            return RedirectResponse(target, status_code=303)
        return templates.TemplateResponse(
            request, "result.html", {"checkout": checkout, "outcome": _OUTCOME_WORDS[outcome]}
        )

    return [
        Route("/checkout/", show, methods=["GET"]),
        Route("/checkout/action", act, methods=["POST"], name="sandbox_checkout_action"),
    ]
