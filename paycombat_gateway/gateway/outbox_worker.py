"""Delivers owed ``transactionEventReport`` calls to Saleor until Saleor accepts them.

A ``TRANSACTION_DETAILS`` row is sent with ``transactionUpdate`` instead: the transaction's name and
link, and the buttons it offers as of delivery (so a late delivery never brings back a stale Cancel).

Each app process runs one worker, a task on the server's event loop. It wakes when this process
enqueues a report and otherwise polls, so reports enqueued by another instance, or left behind by a
crash, are picked up too. Claims are leased (see ``storage.outbox``), so every report is worked by one
worker at a time. Saleor is awaited (no thread waits on it) and a claimed batch is delivered
concurrently across payments, one report after another within a payment, so their order holds; the
short database reads and writes run in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from functools import partial

import aiohttp

from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.refunds import actions_now
from paycombat_gateway.gateway.reporting import TRANSACTION_DETAILS
from paycombat_gateway.money import quantize
from paycombat_gateway.saleor.client import EventReportResult, SaleorClient, SaleorError
from paycombat_gateway.storage import outbox
from paycombat_gateway.storage.db import StorageUnavailable
from paycombat_gateway.storage.models import Installation, OutboxReport, PaymentSession

__all__ = ["OutboxWorker"]

logger = logging.getLogger(__name__)
PERMANENT_CODES = {"INCORRECT_DETAILS", "NOT_FOUND", "INVALID", "REQUIRED", "GRAPHQL_ERROR"}
Send = Callable[[], Awaitable[EventReportResult]]


class OutboxWorker:
    def __init__(self, ctx: GatewayContext, *, poll_seconds: float = 1.0, batch: int = 20) -> None:
        self.ctx = ctx
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.worker_id = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """Wake the worker now; safe to call from any thread."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    def start(self) -> None:
        """Start delivering, as a task of the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = self._loop.create_task(self._run(), name="outbox-worker")

    async def stop(self) -> None:
        """Let the batch in hand finish (10 s at most), then stop."""
        self._stopping = True
        self.notify()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(task, timeout=10)
        except TimeoutError:  # wait_for cancelled it: its leases expire and another worker resumes
            logger.warning("outbox: stopped in the middle of a batch")

    async def _run(self) -> None:
        assert self._wake is not None, "start() creates the wake event"
        while not self._stopping:
            try:
                worked = await self.run_once()
            except StorageUnavailable:
                logger.warning("outbox: database unavailable; will retry")
                worked = 0
            except Exception:  # the worker must survive anything and keep delivering
                logger.exception("outbox: unexpected error")
                worked = 0
            if worked < self.batch and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                self._wake.clear()

    async def run_once(self) -> int:
        """Claim and deliver one batch; returns how many reports were worked."""
        claimed = await in_thread(
            self.ctx.database.run,
            lambda s: [
                (r.id, r.payment_session_id)
                for r in outbox.claim_due_reports(s, self.worker_id, limit=self.batch)
            ],
        )
        by_payment: dict[int, list[int]] = {}
        for report_id, payment_id in claimed:
            by_payment.setdefault(payment_id, []).append(report_id)
        await asyncio.gather(*(self._deliver_in_order(ids) for ids in by_payment.values()))
        return len(claimed)

    async def _deliver_in_order(self, report_ids: list[int]) -> None:
        for report_id in report_ids:
            await self._deliver(report_id)

    def _prepare(self, report_id: int, http: aiohttp.ClientSession) -> tuple[Send | None, str] | None:
        """What to send for a report (None when its installation or payment is gone), and what it is;
        None when the report itself is gone."""
        with self.ctx.database.session(readonly=True) as session:
            report = session.get(OutboxReport, report_id)
            if report is None:
                return None
            installation = session.get(Installation, report.installation_id)
            payment = session.get(PaymentSession, report.payment_session_id)
            if installation is None or payment is None:
                send = None
            else:
                client = SaleorClient(
                    installation.saleor_api_url,
                    self.ctx.box.decrypt(installation.token_encrypted),
                    http=http,
                )
                send = (
                    partial(
                        client.transaction_update_async,
                        transaction_id=payment.saleor_transaction_id,
                        name=report.message,
                        external_url=report.external_url,
                        available_actions=list(actions_now(session, payment)),
                    )
                    if report.event_type == TRANSACTION_DETAILS
                    else partial(
                        client.transaction_event_report_async,
                        transaction_id=payment.saleor_transaction_id,
                        psp_reference=report.psp_reference,
                        event_type=report.event_type,
                        amount=quantize(report.amount, report.currency, exact=False)
                        if report.amount is not None
                        else None,
                        time=report.occurred_at,
                        message=report.message,
                        external_url=report.external_url,
                        available_actions=report.available_actions,
                    )
                )
            return send, f"{report.event_type} {report.psp_reference}"

    async def _deliver(self, report_id: int) -> None:
        prepared = await in_thread(self._prepare, report_id, self.ctx.saleor_async_http())
        if prepared is None:
            return
        send, what = prepared
        if send is None:
            await self._finished(report_id, failed="the installation or the payment no longer exists")
            return
        try:
            result = await send()
        except SaleorError as exc:  # unavailable, refused token, GraphQL errors: all worth retrying later
            await self._finished(report_id, retry=str(exc))
            return
        if result.accepted:
            await self._finished(report_id)
            logger.info("reported %s to Saleor", what)
            return
        codes = {str(error.get("code")) for error in result.errors}
        description = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in result.errors)[:1000]
        if codes & PERMANENT_CODES:
            await self._finished(report_id, failed=description)
        else:
            await self._finished(report_id, retry=description)

    async def _finished(self, report_id: int, *, retry: str | None = None, failed: str | None = None) -> None:
        await in_thread(partial(self._finish, report_id, retry=retry, failed=failed))

    def _finish(self, report_id: int, *, retry: str | None = None, failed: str | None = None) -> None:
        with self.ctx.database.session() as session:
            if failed is not None:
                outbox.mark_failed(session, report_id, self.worker_id, failed)
                logger.error("report %s parked as failed: %s", report_id, failed)
            elif retry is not None:
                outbox.mark_retry(session, report_id, self.worker_id, retry)
                logger.warning("report %s will be retried: %s", report_id, retry)
            else:
                outbox.mark_delivered(session, report_id, self.worker_id)
