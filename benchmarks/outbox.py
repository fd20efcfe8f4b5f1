"""Report delivery (issue 20): the outbox worker, as the server runs it (``BackgroundRunner``: one
event loop and one long-lived HTTP session), delivering a backlog of reports to a Saleor that answers
each ``transactionEventReport`` in 50 ms. Prints reports/s and how many connections the worker opened
per 1,000 reports (counted by the Saleor stub: distinct client ports).
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, insert, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paycombat_gateway.background.outbox import OutboxWorker
from paycombat_gateway.background.runner import BackgroundRunner
from paycombat_gateway.background_server import serve_in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.outbound import SALEOR_REPORT_SHARE
from paycombat_gateway.settings import Settings
from paycombat_gateway.storage import outbox
from paycombat_gateway.storage.configs import create_config
from paycombat_gateway.storage.installations import upsert_installation
from paycombat_gateway.storage.migrate import migrate
from paycombat_gateway.storage.models import OutboxReport, PaymentSession, utcnow

SECRET = "benchmark-secret-key-long-enough"
LATENCY_S = 0.05
REPORTS_PER_PAYMENT = 2  # CHARGE_REQUEST then CHARGE_SUCCESS, in order


class CountingSaleor:
    """Answers every report after ``LATENCY_S``; remembers the client port of each request."""

    def __init__(self) -> None:
        self.ports: set[int] = set()
        self.requests = 0
        self._lock = threading.Lock()

    def app(self) -> Starlette:
        async def graphql(request: Request) -> Response:
            await request.body()
            client = request.scope.get("client") or ("", 0)
            with self._lock:
                self.ports.add(int(client[1]))
                self.requests += 1
            await asyncio.sleep(LATENCY_S)
            answer = {"alreadyProcessed": False, "transactionEvent": {"id": uuid.uuid4().hex}, "errors": []}
            return JSONResponse({"data": {"transactionEventReport": answer}})

        return Starlette(routes=[Route("/graphql/", graphql, methods=["POST"])])


def _backlog(ctx: GatewayContext, saleor_api_url: str, payments: int) -> None:
    now = utcnow() - timedelta(minutes=1)
    with ctx.database.session() as session:
        installation = upsert_installation(session, ctx.box, saleor_api_url=saleor_api_url, app_id="bench",
                                           token="bench-token", jwks=None)  # fmt: skip
        config = create_config(session, ctx.box, installation_id=installation.id, name="Bench",
                               x_token="snd_bench_xtoken", signature_key="snd_bench_signature_key")  # fmt: skip
        rows = [
            {
                "installation_id": installation.id, "config_id": config.id,
                "saleor_transaction_id": f"TransactionItem:{uuid.uuid4()}", "idempotency_key": str(uuid.uuid4()),
                "merchant_reference": uuid.uuid4().hex, "source_type": "checkout", "source_id": "bench",
                "channel_slug": "default-channel", "currency": "AUD", "amount": Decimal("10.00"),
                "action_type": "CHARGE", "state": "succeeded", "claimed_at": now, "amount_mismatch": False,
                "reconcile_attempts": 0, "created_at": now, "updated_at": now,
            }
            for _ in range(payments)
        ]  # fmt: skip
        session.execute(insert(PaymentSession), rows)
        for payment in session.scalars(select(PaymentSession)):
            for event_type in ("CHARGE_REQUEST", "CHARGE_SUCCESS")[:REPORTS_PER_PAYMENT]:
                outbox.enqueue_report(
                    session, installation_id=installation.id, payment_session_id=payment.id,
                    event_type=event_type, psp_reference=payment.merchant_reference,
                    amount=Decimal("10.00"), currency="AUD", message=None,
                )  # fmt: skip


def _pending(ctx: GatewayContext) -> int:
    return int(
        ctx.database.run(
            lambda s: s.scalar(
                select(func.count()).select_from(OutboxReport).where(OutboxReport.state == "pending")
            )
        )
    )


def bench_outbox(reports: int, limit: float = 300) -> None:
    payments = max(reports // REPORTS_PER_PAYMENT, 1)
    print(f"\n6. Report delivery: {payments * REPORTS_PER_PAYMENT} reports ({payments} payments) to one Saleor "
          f"answering in {LATENCY_S * 1000:.0f} ms; at most {SALEOR_REPORT_SHARE} of its payments at once")  # fmt: skip
    saleor = CountingSaleor()
    with tempfile.TemporaryDirectory() as tmp, serve_in_thread(saleor.app()) as saleor_url:
        database_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        migrate(database_url)
        settings = Settings(app_env="test", data_dir=Path(tmp), database_url=database_url, app_secret_key=SECRET,
                            log_level="WARNING")  # fmt: skip
        ctx = GatewayContext.create(replace(settings, outbox_poll_seconds=0.05))
        try:
            _backlog(ctx, f"{saleor_url}/graphql/", payments)
            total = _pending(ctx)
            worker = OutboxWorker(ctx, poll_seconds=0.05)
            runner = BackgroundRunner(ctx, worker)
            started = time.perf_counter()
            runner.start()
            while (left := _pending(ctx)) and time.perf_counter() - started < limit:
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            runner.stop()
        finally:
            ctx.close()
    delivered = total - left
    bounded = "" if not left else f" (stopped at the {limit:g} s bound, {left} left)"
    print(f"  {delivered} reports in {seconds:.1f} s{bounded}: {delivered / seconds:.0f} reports/s; "
          f"{len(saleor.ports)} connections opened for {saleor.requests} requests "
          f"({len(saleor.ports) * 1000 / max(saleor.requests, 1):.1f} per 1,000 reports)")  # fmt: skip
