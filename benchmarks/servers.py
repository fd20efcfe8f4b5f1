"""The servers the benchmarks load: a PayCombat stub (zero latency or a set one), a bare endpoint to
compare with, the floor (the bare endpoint plus only the JWS check and the two writes issue 6
requires), and the latency-only reference (waits, answers, does nothing else).

Each runs as its own process (``python -m benchmarks.servers stub PORT [LATENCY_MS]``,
``python -m benchmarks.servers bare PORT``, ``python -m benchmarks.servers floor PORT``,
``python -m benchmarks.servers reference PORT LATENCY_MS``) with the same uvicorn settings as the app,
so the comparison measures the app's own work, not the load generator's. The bare endpoint and the
floor are built the way the app is: the async PayCombat client on the event loop, database work in a
worker thread.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paycombat_gateway.background.checkpointer import WalCheckpointer
from paycombat_gateway.gateway.blocking import in_thread, run_inline_on_this_loop
from paycombat_gateway.paycombat.client import AsyncPaycombatClient
from paycombat_gateway.paycombat.models import PaymentRequest
from paycombat_gateway.saleor.jws import verify_detached_jws
from paycombat_gateway.saleor.webhooks import SYNC_WEBHOOKS, SyncEvent
from paycombat_gateway.storage.configs import create_config
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.installations import upsert_installation
from paycombat_gateway.storage.migrate import migrate
from paycombat_gateway.storage.secrets import SecretBox
from paycombat_gateway.storage.sessions import claim_payment_session, record_checkout

UVICORN_OPTIONS = {"host": "127.0.0.1", "log_level": "warning", "access_log": False}
# The app's own path for TRANSACTION_INITIALIZE_SESSION: the floor answers the very requests the app gets.
TIS_PATH = next(w.path for w in SYNC_WEBHOOKS if w.event is SyncEvent.TRANSACTION_INITIALIZE_SESSION)


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


def reference_app(latency_ms: int) -> Starlette:
    """Waits ``latency_ms`` and answers: what a PayCombat that slow allows at best, nothing else paid."""

    async def reference(request: Request) -> Response:
        await request.body()
        await asyncio.sleep(latency_ms / 1000)
        return JSONResponse({"result": "CHARGE_ACTION_REQUIRED", "pspReference": str(uuid.uuid4())})

    return Starlette(routes=[Route("/reference", reference, methods=["POST"])])


def bare_app(paycombat_url: str) -> Starlette:
    """A plain endpoint making the same outbound call with the same client: the baseline."""
    client = AsyncPaycombatClient("snd_bench_xtoken", "snd_bench_signature_key", paycombat_url)

    async def bare(request: Request) -> Response:
        body = json.loads(await request.body(), parse_float=Decimal)
        action = body["action"]
        payment = PaymentRequest(
            amount=action["amount"],
            currency=action["currency"],
            country_code="US",
            description=body["idempotencyKey"],
        )
        checkout = await client.create_payment_request(payment)
        return JSONResponse({"result": "CHARGE_ACTION_REQUIRED", "pspReference": checkout.id})

    return Starlette(routes=[Route("/bare", bare, methods=["POST"])])


def floor_app(paycombat_url: str, database_url: str, jwks: str) -> Starlette:
    """The bare endpoint plus the core of what issue 6 requires of a verified initialize.

    Saleor's JWS is checked with the app's verifier, and the app's two durable writes run as the app runs
    them: the idempotency claim before PayCombat is called, the checkout after. Left out, so the floor
    errs on the generous side: finding the installation the JWKS belongs to, the header and recipient
    checks, acting on a claim held by another request, routing beyond one route, middleware, validating
    the payload and its money, order lines, error handling. Its throughput relative to the bare endpoint
    is what is left once verification and this storage are paid for: the app's own ratio can approach
    it, not pass it.
    """
    migrate(database_url)
    database = Database.from_url(database_url)
    box = SecretBox(["benchmark-floor-secret-key-long-enough"])
    with database.session() as session:
        installation = upsert_installation(
            session, box, saleor_api_url="http://saleor.bench/graphql/", app_id="app", token="t", jwks=jwks
        )
        config = create_config(
            session, box, installation_id=installation.id, name="Floor",
            x_token="snd_bench_xtoken", signature_key="snd_bench_signature_key",
        )  # fmt: skip
        installation_id, config_id = installation.id, config.id
    client = AsyncPaycombatClient("snd_bench_xtoken", "snd_bench_signature_key", paycombat_url)
    checkpointer = WalCheckpointer(database)

    async def initialize(signature: str, raw_body: bytes) -> dict[str, str]:
        verify_detached_jws(signature, raw_body, jwks)
        body = json.loads(raw_body, parse_float=Decimal)
        action, transaction = body["action"], body["transaction"]
        claim = await in_thread(
            claim_payment_session,
            database,
            installation_id=installation_id,
            idempotency_key=body["idempotencyKey"],
            config_id=config_id,
            saleor_transaction_id=transaction["id"],
            saleor_transaction_token=transaction["token"],
            merchant_reference="SALEOR-" + transaction["token"],
            source_type="Checkout",
            source_id=body["sourceObject"]["id"],
            channel_slug="default-channel",
            currency=action["currency"],
            amount=action["amount"],
            action_type="CHARGE",
        )
        checkout = await client.create_payment_request(
            PaymentRequest(
                amount=action["amount"],
                currency=action["currency"],
                country_code="US",
                description=claim.merchant_reference,
            )
        )
        await in_thread(
            record_checkout, database, claim.session_id, checkout_id=checkout.id, checkout_token=checkout.checkout_token,
            checkout_url=checkout.checkout_url, expires_at=checkout.expire_at, payin_method_name=None,
            virtual_account=None, last_error=None,
        )  # fmt: skip
        return {"result": "CHARGE_ACTION_REQUIRED", "pspReference": checkout.id}

    async def floor(request: Request) -> Response:
        raw_body = await request.body()
        signature = request.headers.get("saleor-signature", "")
        return JSONResponse(await initialize(signature, raw_body))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        checkpointer.start()  # as the app does, so both pay for storage alike
        run_inline_on_this_loop(database)  # and run SQLite's writes where the app runs them
        try:
            yield
        finally:
            checkpointer.stop()
            await client.aclose()
            database.dispose()

    return Starlette(routes=[Route(TIS_PATH, floor, methods=["POST"])], lifespan=lifespan)


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "stub":
        app = stub_app(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    elif kind == "reference":
        app = reference_app(int(sys.argv[3]))
    elif kind == "floor":
        app = floor_app(
            os.environ["PAYCOMBAT_API_URL"], os.environ["DATABASE_URL"], os.environ["SALEOR_JWKS"]
        )
    else:
        app = bare_app(os.environ["PAYCOMBAT_API_URL"])
    uvicorn.run(app, port=port, **UVICORN_OPTIONS)  # type: ignore[arg-type]
