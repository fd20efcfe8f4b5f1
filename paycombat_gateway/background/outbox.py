"""Delivers owed ``transactionEventReport`` calls to Saleor until Saleor accepts them.

A ``TRANSACTION_DETAILS`` row is sent with ``transactionUpdate`` instead: the transaction's name and
link, and the buttons it offers as of delivery (so a late delivery never brings back a stale Cancel).

The worker runs on the process's background event loop (``runner``), through its one long-lived
aiohttp session. It wakes when this process enqueues a report and otherwise polls, so reports enqueued
by another instance, or left behind by a crash, are picked up too. Claims are leased (see
``storage.outbox``), so every report is worked by one worker at a time. A process that restarts after
dying takes back its own earlier leases at once (``instance_slot``) instead of waiting for them to run
out.

Each Saleor's reports are delivered independently, in a lane of their own (``peer_shares.Lanes``): at
most ``SALEOR_REPORT_SHARE`` of its payments at once, one payment's reports one after another so their
order holds, each call ended by ``SALEOR_REPORT``. There is no batch barrier: the worker claims again
as soon as it has room, and a Saleor whose lane is full (``SALEOR_REPORT_BACKLOG`` payments) is left
out of the claim, so a Saleor that trickles its answers holds only its own reports back.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import socket
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial

import aiohttp

from paycombat_gateway.background.instance_slot import InstanceSlot
from paycombat_gateway.background.runner import Wakeup, repeat_rounds
from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.refunds import actions_now
from paycombat_gateway.gateway.reporting import TRANSACTION_DETAILS
from paycombat_gateway.metrics import record_outbox_delivery
from paycombat_gateway.money import quantize
from paycombat_gateway.outbound import (
    OUTBOX_LEASE_SECONDS,
    SALEOR_REPORT,
    SALEOR_REPORT_BACKLOG,
    SALEOR_REPORT_SHARE,
    open_session,
)
from paycombat_gateway.peer_shares import Lanes
from paycombat_gateway.saleor.client import EventReportResult, SaleorError
from paycombat_gateway.storage import outbox
from paycombat_gateway.storage.db import StorageUnavailable
from paycombat_gateway.storage.models import Installation, OutboxReport, PaymentSession

__all__ = ["OutboxWorker"]

logger = logging.getLogger(__name__)
# A report's lease as its delivery starts: the call's total deadline and a margin for the database
# writes around it, however long the report waited in its Saleor's lane.
DELIVERY_LEASE_SECONDS = SALEOR_REPORT.total + 30.0
PERMANENT_CODES = {"INCORRECT_DETAILS", "NOT_FOUND", "INVALID", "REQUIRED", "GRAPHQL_ERROR"}
Send = Callable[[], Awaitable[EventReportResult]]


class _LeaseLost(Exception):
    """The report's lease ran out and another worker holds it now: it must not be sent twice."""


class OutboxWorker:
    name = "outbox"

    def __init__(
        self,
        ctx: GatewayContext,
        *,
        poll_seconds: float = 1.0,
        batch: int = 20,
        share: int = SALEOR_REPORT_SHARE,
        backlog: int = SALEOR_REPORT_BACKLOG,
    ) -> None:
        self.ctx = ctx
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.share, self.backlog = share, backlog
        self.worker_id = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.slot: InstanceSlot | None = None
        self._wakeup = Wakeup()
        self._http: aiohttp.ClientSession | None = None
        self._lanes: Lanes[int, int] | None = None  # installation id -> payment ids
        self._owed: dict[int, deque[int]] = {}  # payment id -> its claimed reports, in order

    def notify(self) -> None:
        """A report was just enqueued: deliver it now rather than at the next poll (any thread)."""
        self._wakeup.set()

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

    # --- life on the background loop (``runner.BackgroundWorker``) -------------------------------

    def prepare(self) -> None:
        try:
            self.take_instance_slot()
        except StorageUnavailable:
            logger.warning("outbox: database unavailable at start; earlier leases will run out instead")

    async def serve(self, stopping: asyncio.Event, http: aiohttp.ClientSession) -> None:
        self._bind(http)
        assert self._lanes is not None
        try:
            await repeat_rounds(
                "outbox-worker", self.run_round, wake=self._wakeup.bind(), stopping=stopping,
                full=self.batch, poll_seconds=self.poll_seconds,
            )  # fmt: skip
        finally:
            await self._lanes.cancel()  # what was running keeps its lease and is worked again

    def finish(self) -> None:
        if self.slot is not None:
            self.slot.release()

    def _bind(self, http: aiohttp.ClientSession) -> None:
        self._http = http
        self._lanes = Lanes(self._deliver_payment, per_peer=self.share, backlog=self.backlog)
        self._owed = {}

    # --- rounds -----------------------------------------------------------------------------------

    async def run_round(self) -> int:
        """Claim what is due (leaving out the Saleors whose lanes are full, and no more of a Saleor's
        payments than its lane has room for) and hand each report to its Saleor's lane; returns how
        many were claimed. Does not wait for their delivery."""
        assert self._lanes is not None
        # Read on the loop, which owns the lanes; the claim runs in a worker thread.
        claimed = await in_thread(self._claim, self._lanes.rooms(), set(self._owed))
        for report_id, payment_id, installation_id in sorted(claimed):  # a payment's in their order
            owed = self._owed.get(payment_id)
            if owed is None:
                self._owed[payment_id] = deque([report_id])
                self._lanes.add(installation_id, payment_id)
            elif report_id not in owed:  # a payment already in its lane: behind its earlier reports
                owed.append(report_id)
        return len(claimed)

    def _claim(self, rooms: dict[int, int], holding: set[int]) -> list[tuple[int, int, int]]:
        skip = {installation_id for installation_id, room in rooms.items() if not room}
        assert self._lanes is not None
        backlog = self._lanes.backlog  # fixed at creation: safe to read off the loop

        def room(installation_id: int) -> int:
            return rooms.get(installation_id, backlog)

        return self.ctx.database.run(
            lambda s: [
                (r.id, r.payment_session_id, r.installation_id)
                for r in outbox.claim_due_reports(
                    s, self.worker_id, limit=self.batch, lease_seconds=OUTBOX_LEASE_SECONDS,
                    skip_installations=skip, room=room, holding=holding,
                )
            ]
        )  # fmt: skip

    def run_once(self) -> int:
        """One round on a private event loop, waiting until every report it claimed was worked (tests
        and tools; the server's worker runs ``serve``). Returns how many reports were claimed."""

        one = copy.copy(self)  # its own lanes: the background loop may be using this one's

        async def once() -> int:
            async with open_session() as http:
                one._bind(http)
                assert one._lanes is not None
                try:
                    claimed = await one.run_round()
                    await one._lanes.drained()
                    return claimed
                finally:
                    await one.ctx.aclose_loop()

        return asyncio.run(once())

    async def _deliver_payment(self, installation_id: int, payment_id: int) -> None:
        """One payment's claimed reports, one after another (more may join while it runs). When one
        is to be tried again later, the rest are given back to wait behind it: a later report (details,
        a refund) must never reach Saleor before an earlier one (the charge)."""
        owed = self._owed[payment_id]
        try:
            while owed:
                if not await self._deliver(owed[0]):
                    retried = owed.popleft()
                    if owed:
                        await in_thread(self._give_back, list(owed), retried)
                    owed.clear()
                    break
                owed.popleft()
        except StorageUnavailable:  # the lease runs out and the report is tried again
            logger.warning("outbox: database unavailable while reporting payment %s", payment_id)
        except Exception:  # the lane must go on; the report's lease runs out and it is tried again
            logger.exception("outbox: delivering the reports of payment %s failed", payment_id)
        finally:
            del self._owed[payment_id]

    def _prepare(self, report_id: int, http: aiohttp.ClientSession) -> tuple[Send | None, str, bool] | None:
        """What to send for a report (None when its installation or payment is gone), and what it is;
        None when the report itself is gone. Renews the report's lease first (``DELIVERY_LEASE_SECONDS``),
        however long it waited in its Saleor's lane; raises ``_LeaseLost`` when another worker has it."""
        with self.ctx.database.session() as session:
            report = session.get(OutboxReport, report_id)
            if report is None:
                return None
            if not outbox.renew_lease(session, report_id, self.worker_id, DELIVERY_LEASE_SECONDS):
                raise _LeaseLost(report_id)
            installation = session.get(Installation, report.installation_id)
            payment = session.get(PaymentSession, report.payment_session_id)
            if installation is None or installation.uninstalled_at is not None or payment is None:
                send = None  # parked: an uninstalled Saleor has no token (outbox retry after a reinstall)
            else:
                client = self.ctx.saleor_client(installation, SALEOR_REPORT, http=http)
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
            ordered = report.event_type != TRANSACTION_DETAILS  # a details row is read as of delivery
            return send, f"{report.event_type} {report.psp_reference}", ordered

    def _give_back(self, report_ids: list[int], behind: int) -> None:
        given = self.ctx.database.run(lambda s: outbox.give_back(s, report_ids, self.worker_id, behind))
        logger.info("outbox: %d later report(s) wait behind report %s, to be retried", given, behind)

    async def _deliver(self, report_id: int) -> bool:
        """Deliver one report; False when it is to be tried again later and is an event, so its payment's
        next must wait (a details row to be retried holds nothing back: it is read as of its delivery)."""
        assert self._http is not None
        try:
            prepared = await in_thread(self._prepare, report_id, self._http)
        except _LeaseLost:  # another worker took it (and its payment's later reports) over
            logger.warning("outbox: report %s is leased to another worker now; left to it", report_id)
            return False
        if prepared is None:
            return True
        send, what, ordered = prepared
        if send is None:
            await in_thread(
                self._finish,
                report_id,
                failed="the app is not installed in this Saleor, or the payment is gone",
            )
            return True
        try:
            result = await send()
        except SaleorError as exc:  # unavailable, refused token, GraphQL errors: all worth retrying later
            await in_thread(self._finish, report_id, retry=str(exc))
            return not ordered
        if result.accepted:
            await in_thread(self._finish, report_id)
            logger.info("reported %s to Saleor", what)
            return True
        codes = {str(error.get("code")) for error in result.errors}
        description = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in result.errors)[:1000]
        if codes & PERMANENT_CODES:
            await in_thread(self._finish, report_id, failed=description)
            return True
        await in_thread(self._finish, report_id, retry=description)
        return not ordered

    def _finish(self, report_id: int, *, retry: str | None = None, failed: str | None = None) -> None:
        """Record a report's outcome; counted (``metrics``) only when this worker still held its lease
        and the mark took effect (another worker that took the report over counts its own)."""
        with self.ctx.database.session() as session:
            if failed is not None:
                outcome, marked = "parked", outbox.mark_failed(session, report_id, self.worker_id, failed)
                if marked:
                    logger.error("report %s parked as failed: %s", report_id, failed)
            elif retry is not None:
                outcome, marked = "retry", outbox.mark_retry(session, report_id, self.worker_id, retry)
                if marked:
                    logger.warning("report %s will be retried: %s", report_id, retry)
            else:
                outcome, marked = "sent", outbox.mark_delivered(session, report_id, self.worker_id)
        if marked:
            record_outbox_delivery(outcome)
        else:
            logger.warning("outbox: report %s was no longer leased to this worker; not counted", report_id)
