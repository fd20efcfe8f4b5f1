"""The reconciler's loop: claim the payments due for a look, and look them up, configurations side by
side (what one look means is ``gateway.reconcile``).

Runs on the process's background event loop (``runner``). Each PayCombat configuration has a lane of
its own (``peer_shares.Lanes``): one look-up at a time, paced to ``RECONCILE_CALLS_PER_SECOND``, each
ended by ``outbound.PAYCOMBAT_BACKGROUND``. A configuration whose PayCombat fails or does not answer
in time (a timeout is a failure, a trickle included) is paused on its own with a growing wait, its
waiting payments given back unchanged, and left out of the claims until then; every other
configuration's look-ups go on beside it. Payments are leased one instance at a time
(``storage.reconciliation``), for long enough that a lane's backlog is worked inside the lease.

The operator's pass (``paycombat-gateway reconcile``) and tests use ``run_once``/``run_pass``, which
run the same lanes on a private event loop and wait for them.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import aiohttp
from sqlalchemy.orm import Session

from paycombat_gateway.background.runner import Wakeup, repeat_rounds
from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.reconcile import Finding, look_up, next_wait
from paycombat_gateway.gateway.snapshots import SessionSnapshot, snapshot
from paycombat_gateway.metrics import record_reconciler_lookup, set_reconciler_paused
from paycombat_gateway.outbound import PAYCOMBAT_BACKGROUND
from paycombat_gateway.paycombat import errors
from paycombat_gateway.peer_shares import Lanes, Pacer
from paycombat_gateway.settings import ReconcileSettings
from paycombat_gateway.storage.models import utcnow
from paycombat_gateway.storage.reconciliation import claim_for_reconciliation, release_claims

__all__ = ["RECONCILE_BACKLOG", "Reconciler"]

logger = logging.getLogger(__name__)
_BATCH = 50
RECONCILE_BACKLOG = 10  # payments of one configuration one instance holds claimed (running or waiting)


class Reconciler:
    """One instance's reconciler: a worker of the background loop, or one pass on demand (the CLI)."""

    name = "reconciler"

    def __init__(
        self,
        ctx: GatewayContext,
        settings: ReconcileSettings | None = None,
        *,
        on_report_enqueued: Callable[[], None] = lambda: None,
        batch: int = _BATCH,
    ) -> None:
        self.ctx = ctx
        self.settings = settings or ctx.settings.reconcile
        self.worker_id = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}-reconcile"
        self.poll_seconds = min(self.settings.interval_seconds, 10.0)
        self.batch = batch
        self._on_report_enqueued = on_report_enqueued
        self._pacers: dict[str, Pacer] = {}
        self._paused: dict[str, tuple[float, int]] = {}  # config id -> (monotonic resume time, outages)
        self._wakeup = Wakeup()
        self._lanes: Lanes[str, SessionSnapshot] | None = None
        self._dry_run = False
        self._findings: dict[int, Finding] = {}
        self._stopping = False

    # --- life on the background loop (``runner.BackgroundWorker``) -------------------------------

    def prepare(self) -> None:
        pass

    async def serve(self, stopping: asyncio.Event, http: aiohttp.ClientSession) -> None:
        lanes = self._bind(dry_run=False)
        try:
            await repeat_rounds(
                "reconciler", self._round, wake=self._wakeup.bind(), stopping=stopping,
                full=self.batch, poll_seconds=self.poll_seconds,
            )  # fmt: skip
        finally:
            self._stopping = True
            await lanes.cancel()  # their claims run out and are looked up again

    def finish(self) -> None:
        pass

    def _bind(self, *, dry_run: bool) -> Lanes[str, SessionSnapshot]:
        self._lanes = Lanes(self._look_in_lane, per_peer=1, backlog=RECONCILE_BACKLOG)
        self._dry_run, self._findings, self._stopping = dry_run, {}, False
        return self._lanes

    async def _round(self) -> int:
        return len(await self._claim_into_lanes(since=None, after_id=None))

    # --- on demand: tests, the CLI ------------------------------------------------------------------

    def run_once(self) -> list[Finding]:
        """Look up one batch of the payments that are due; what was found for each."""
        one = copy.copy(self)  # its own lanes: the background loop may be using this one's
        with asyncio.Runner() as runner:
            try:
                return runner.run(one._drained_batch(since=None, after_id=None, dry_run=False))
            finally:
                runner.run(self.ctx.aclose_loop())

    def run_pass(self, *, since: timedelta | None = None, dry_run: bool = False) -> Iterator[Finding]:
        """An operator's pass (``paycombat-gateway reconcile``): every open payment created within
        ``since`` (all when None), due or not, in id order; ``dry_run`` records and reschedules nothing."""
        one = copy.copy(self)  # its own lanes: the background loop may be using this one's
        with asyncio.Runner() as runner:
            try:
                last_id = 0
                while batch := runner.run(one._drained_batch(since=since, after_id=last_id, dry_run=dry_run)):
                    yield from batch
                    last_id = max(finding.session_id for finding in batch)
            finally:
                runner.run(self.ctx.aclose_loop())

    async def _drained_batch(
        self, *, since: timedelta | None, after_id: int | None, dry_run: bool
    ) -> list[Finding]:
        lanes = self._bind(dry_run=dry_run)
        claimed = await self._claim_into_lanes(since=since, after_id=after_id)
        await lanes.drained()
        return [self._findings[payment.id] for payment in claimed if payment.id in self._findings]

    # --- claiming ---------------------------------------------------------------------------------

    async def _claim_into_lanes(
        self, *, since: timedelta | None, after_id: int | None
    ) -> list[SessionSnapshot]:
        """Claim a batch of due payments (leaving out paused configurations and full lanes) and hand
        each to its configuration's lane; what exceeds a lane's backlog is given back at once. Returns
        the payments handed to lanes."""
        assert self._lanes is not None
        lanes = self._lanes
        now = utcnow()
        lease = timedelta(
            seconds=max(
                60.0,
                3 * self.batch / self.settings.calls_per_second,
                RECONCILE_BACKLOG * (PAYCOMBAT_BACKGROUND.total + 1 / self.settings.calls_per_second),
            )
        )
        skip = (self._paused_now() | lanes.full()) if after_id is None else set()

        def claim(session: Session) -> list[SessionSnapshot]:
            rows = claim_for_reconciliation(
                session,
                self.worker_id,
                now=now,
                open_for=timedelta(seconds=self.settings.after_seconds),
                limit=self.batch,
                lease=lease,
                skip_configs=skip,
                created_since=now - since if since is not None else None,
                after_id=after_id,
            )
            return [snapshot(row) for row in rows]

        handed: list[SessionSnapshot] = []
        given_back: list[int] = []
        for payment in await in_thread(self.ctx.database.run, claim):
            if after_id is None and lanes.held(payment.config_id) >= lanes.backlog:
                given_back.append(payment.id)
                continue
            handed.append(payment)
            lanes.add(payment.config_id, payment)
        await self._release(given_back)
        return handed

    def _paused_now(self) -> set[str]:
        return {config_id for config_id, (until, _) in self._paused.items() if until > time.monotonic()}

    async def _release(self, session_ids: list[int]) -> None:
        if not session_ids:
            return

        def release() -> None:
            with self.ctx.database.session() as session:
                release_claims(session, self.worker_id, session_ids)

        await in_thread(release)

    # --- one look, in its configuration's lane -----------------------------------------------------

    async def _look_in_lane(self, config_id: str, payment: SessionSnapshot) -> None:
        try:
            finding = await self._look(payment)
        except Exception as exc:  # the lane must go on; the claim runs out and it is looked up again
            logger.exception("reconciler: looking up payment %s failed", payment.id)
            finding = Finding.about(payment, f"not looked up: {type(exc).__name__}", "its claim runs out")
        record_reconciler_lookup(finding.tally)
        set_reconciler_paused(len(self._paused_now()))
        self._findings[payment.id] = finding

    async def _look(self, payment: SessionSnapshot) -> Finding:
        if self._stopping:
            await self._release([payment.id])
            return Finding.about(payment, "not looked up: stopping", "its place is kept")
        config = await self.ctx.configs.by_id_async(payment.config_id)
        if config is None:
            await self._release([payment.id])
            return Finding.about(payment, "its PayCombat configuration is gone", "not looked up")
        await self._pacers.setdefault(config.id, Pacer(self.settings.calls_per_second)).wait()
        client = self.ctx.paycombat.async_for_config(config, background=True)
        try:
            finding, enqueued = await look_up(
                self.ctx, client, payment, worker_id=self.worker_id,
                interval_seconds=self.settings.interval_seconds, dry_run=self._dry_run,
            )  # fmt: skip
        except errors.PaycombatError as exc:  # a timeout included: a trickle is a failure too
            await self._pause(config.id, payment)
            return Finding.about(
                payment,
                f"PayCombat unavailable: {exc.message}",
                "paused; its place is kept",
                tally="unavailable",
            )
        self._paused.pop(config.id, None)
        if self._dry_run:
            await self._release([payment.id])
        elif enqueued:
            self._on_report_enqueued()
        return finding

    async def _pause(self, config_id: str, payment: SessionSnapshot) -> None:
        """Pause ``config_id`` and give back its payment and every one waiting in its lane."""
        _, outages = self._paused.get(config_id, (0.0, 0))
        wait = next_wait(timedelta(seconds=self.poll_seconds), outages).total_seconds()
        self._paused[config_id] = (time.monotonic() + wait, outages + 1)
        logger.warning(
            "reconciler: PayCombat unavailable for configuration %s; paused %.0f s", config_id, wait
        )
        assert self._lanes is not None
        waiting = self._lanes.drop(config_id)
        for other in waiting:
            self._findings[other.id] = Finding.about(
                other, "not looked up: PayCombat was unavailable", "its place is kept"
            )
            record_reconciler_lookup("not looked up")
        await self._release([payment.id, *(other.id for other in waiting)])
