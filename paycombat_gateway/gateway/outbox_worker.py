"""Delivers owed ``transactionEventReport`` calls to Saleor until Saleor accepts them.

A ``TRANSACTION_DETAILS`` row is sent with ``transactionUpdate`` instead: the transaction's name and
link, and the buttons it offers as of delivery (so a late delivery never brings back a stale Cancel).

Each app process runs one worker thread (``BackgroundLoop``). It wakes when this process enqueues a
report and otherwise polls, so reports enqueued by another instance, or left behind by a crash, are
picked up too. Claims are leased (see ``storage.outbox``), so every report is worked by one worker at
a time. A process that restarts after dying takes back its own earlier leases at once
(``instance_slot``) instead of waiting for them to run out.

A claimed batch is delivered on an event loop of the worker's own: Saleor's answers are awaited
together across payments (no thread waits on one call), one report after another within a payment,
so their order holds. That loop serves only the batch, so its short database reads and writes run on
it directly.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from functools import partial

import aiohttp

from paycombat_gateway.gateway.background import BackgroundLoop
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.instance_slot import InstanceSlot
from paycombat_gateway.gateway.refunds import actions_now
from paycombat_gateway.gateway.reporting import TRANSACTION_DETAILS
from paycombat_gateway.metrics import record_outbox_delivery
from paycombat_gateway.money import quantize
from paycombat_gateway.saleor.client import EventReportResult, SaleorError
from paycombat_gateway.storage import outbox
from paycombat_gateway.storage.db import StorageUnavailable
from paycombat_gateway.storage.models import Installation, OutboxReport, PaymentSession

__all__ = ["OutboxWorker"]

logger = logging.getLogger(__name__)
PERMANENT_CODES = {"INCORRECT_DETAILS", "NOT_FOUND", "INVALID", "REQUIRED", "GRAPHQL_ERROR"}
Send = Callable[[], Awaitable[EventReportResult]]
REPORT_TIMEOUT = (3.0, 15.0)  # connect, read: a report may wait on Saleor longer than a sync webhook


class OutboxWorker:
    def __init__(self, ctx: GatewayContext, *, poll_seconds: float = 1.0, batch: int = 20) -> None:
        self.ctx = ctx
        self.batch = batch
        self.worker_id = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self._loop = BackgroundLoop("outbox-worker", self.run_once, batch=batch, poll_seconds=poll_seconds)
        self.slot: InstanceSlot | None = None

    def notify(self) -> None:
        """A report was just enqueued: deliver it now rather than at the next poll."""
        self._loop.notify()

    def take_instance_slot(self) -> int:
        """Become this host's next free instance and release the leases its earlier incarnations left
        (they are dead: the slot was free). Returns how many reports are due again at once."""
        self.slot = InstanceSlot.acquire(self.ctx.settings.data_dir)
        if self.slot is None:
            return 0
        self.worker_id = f"{self.slot.prefix}{uuid.uuid4().hex[:8]}"
        prefix, me = self.slot.prefix, self.worker_id
        released = self.ctx.database.run(lambda s: outbox.release_leases(s, prefix, keep=me))
        if released:
            logger.info(
                "outbox: took back %d report(s) an earlier run of this instance had claimed", released
            )
        return released

    def start(self) -> None:
        try:
            self.take_instance_slot()
        except StorageUnavailable:
            logger.warning("outbox: database unavailable at start; earlier leases will run out instead")
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        if self.slot is not None:
            self.slot.release()

    def run_once(self) -> int:
        """Claim and deliver one batch; returns how many reports were worked."""
        claimed = self.ctx.database.run(
            lambda s: [
                (r.id, r.payment_session_id)
                for r in outbox.claim_due_reports(s, self.worker_id, limit=self.batch)
            ]
        )
        if claimed:
            asyncio.run(self._deliver_batch(claimed))
        return len(claimed)

    async def _deliver_batch(self, claimed: list[tuple[int, int]]) -> None:
        by_payment: dict[int, list[int]] = {}
        for report_id, payment_id in claimed:
            by_payment.setdefault(payment_id, []).append(report_id)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, trust_env=True) as http:  # env proxies
            await asyncio.gather(*(self._deliver_in_order(ids, http) for ids in by_payment.values()))

    async def _deliver_in_order(self, report_ids: list[int], http: aiohttp.ClientSession) -> None:
        for report_id in report_ids:
            await self._deliver(report_id, http)

    def _prepare(self, report_id: int, http: aiohttp.ClientSession) -> tuple[Send | None, str] | None:
        """What to send for a report (None when its installation or payment is gone), and what it is;
        None when the report itself is gone."""
        with self.ctx.database.session(readonly=True) as session:
            report = session.get(OutboxReport, report_id)
            if report is None:
                return None
            installation = session.get(Installation, report.installation_id)
            payment = session.get(PaymentSession, report.payment_session_id)
            if installation is None or installation.uninstalled_at is not None or payment is None:
                send = None  # parked: an uninstalled Saleor has no token (outbox retry after a reinstall)
            else:
                client = self.ctx.saleor_client(installation, timeout=REPORT_TIMEOUT, http=http)
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

    async def _deliver(self, report_id: int, http: aiohttp.ClientSession) -> None:
        prepared = self._prepare(report_id, http)
        if prepared is None:
            return
        send, what = prepared
        if send is None:
            self._finish(report_id, failed="the app is not installed in this Saleor, or the payment is gone")
            return
        try:
            result = await send()
        except SaleorError as exc:  # unavailable, refused token, GraphQL errors: all worth retrying later
            self._finish(report_id, retry=str(exc))
            return
        if result.accepted:
            self._finish(report_id)
            logger.info("reported %s to Saleor", what)
            return
        codes = {str(error.get("code")) for error in result.errors}
        description = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in result.errors)[:1000]
        if codes & PERMANENT_CODES:
            self._finish(report_id, failed=description)
        else:
            self._finish(report_id, retry=description)

    def _finish(self, report_id: int, *, retry: str | None = None, failed: str | None = None) -> None:
        with self.ctx.database.session() as session:
            record_outbox_delivery(
                "parked" if failed is not None else "retry" if retry is not None else "sent"
            )
            if failed is not None:
                outbox.mark_failed(session, report_id, self.worker_id, failed)
                logger.error("report %s parked as failed: %s", report_id, failed)
            elif retry is not None:
                outbox.mark_retry(session, report_id, self.worker_id, retry)
                logger.warning("report %s will be retried: %s", report_id, retry)
            else:
                outbox.mark_delivered(session, report_id, self.worker_id)
