"""The servers the benchmarks load: a zero-latency PayCombat stub and a bare endpoint to compare with.

Both run as their own processes (``python -m benchmarks.servers stub PORT [LATENCY_MS]`` or
``python -m benchmarks.servers bare PORT``) with the same uvicorn settings as the app, so the comparison
measures the app's own work, not the load generator's.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import uuid
from decimal import Decimal

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paycombat_gateway.paycombat.client import PaycombatClient
from paycombat_gateway.paycombat.models import PaymentRequest

UVICORN_OPTIONS = {"host": "127.0.0.1", "log_level": "warning", "access_log": False}


def stub_app(latency_ms: int = 0) -> Starlette:
    """Answers Create Payment Request after ``latency_ms`` (at once by default), a fresh checkout each time."""

    async def create(request: Request) -> Response:
        await request.body()
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        checkout_id = str(uuid.uuid4())
        token = secrets.token_hex(32)
        data = {
            "id": checkout_id,
            "checkout_token": token,
            "amount": 49.99,
            "currency": "USD",
            "checkout_url": f"http://127.0.0.1/checkout/?token={token}",
            "expire_at": "2026-12-01T00:00:00Z",
        }
        return Response(
            json.dumps({"status": True, "message": "OK", "data": data}), media_type="application/json"
        )

    return Starlette(routes=[Route("/api/v1/checkout/payment-request", create, methods=["POST"])])


def bare_app(paycombat_url: str) -> Starlette:
    """A plain endpoint making the same outbound call with the same client: the baseline."""
    client = PaycombatClient("snd_bench_xtoken", "snd_bench_signature_key", paycombat_url)

    async def bare(request: Request) -> Response:
        body = json.loads(await request.body(), parse_float=Decimal)
        action = body["action"]
        payment = PaymentRequest(
            amount=action["amount"],
            currency=action["currency"],
            country_code="US",
            description=body["idempotencyKey"],
        )
        checkout = await run_in_threadpool(client.create_payment_request, payment)
        return JSONResponse({"result": "CHARGE_ACTION_REQUIRED", "pspReference": checkout.id})

    return Starlette(routes=[Route("/bare", bare, methods=["POST"])])


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    app = (
        stub_app(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
        if kind == "stub"
        else bare_app(os.environ["PAYCOMBAT_API_URL"])
    )
    uvicorn.run(app, port=port, **UVICORN_OPTIONS)  # type: ignore[arg-type]
