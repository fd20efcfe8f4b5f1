"""The periodic retention pass: shoppers' details past ``DATA_RETENTION_DAYS`` are removed while the
server runs (what goes and what stays: ``storage.retention``). Every instance runs one; passes on
several instances at once only repeat a cheap query, since a row is changed once."""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from paycombat_gateway.background.runner import BackgroundRunner, Wakeup, repeat_rounds
from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.retention import BATCH, purge_expired, retention_cutoff

__all__ = ["RETENTION_INTERVAL_SECONDS", "RetentionRunner"]

logger = logging.getLogger(__name__)

RETENTION_INTERVAL_SECONDS = 3600.0  # details live at most DATA_RETENTION_DAYS plus an hour


class RetentionRunner:
    """One batch per round; a full batch is followed at once by the next, otherwise the pause. A worker
    of the background event loop (``runner``): its database work runs through ``in_thread``."""

    name = "retention"

    def __init__(
        self, database: Database, days: int, *, interval_seconds: float = RETENTION_INTERVAL_SECONDS
    ) -> None:
        self.database = database
        self.days = days
        self.interval_seconds = interval_seconds
        self._wakeup = Wakeup()
        self._own: BackgroundRunner | None = None

    def run_once(self) -> int:
        with self.database.session() as session:
            purged = purge_expired(session, older_than=retention_cutoff(self.days))
        if purged.total:
            logger.info(
                "retention: shoppers' details removed from %d delivery(ies) and %d payment(s) older than %d day(s)",
                purged.deliveries, purged.payments, self.days,
            )  # fmt: skip
        return max(purged.deliveries, purged.payments)

    # --- life on the background loop (``runner.BackgroundWorker``) -------------------------------

    def prepare(self) -> None:
        pass

    async def serve(self, stopping: asyncio.Event, http: aiohttp.ClientSession) -> None:
        await repeat_rounds(
            "retention", lambda: in_thread(self.run_once), wake=self._wakeup.bind(), stopping=stopping,
            full=BATCH, poll_seconds=self.interval_seconds,
        )  # fmt: skip

    def finish(self) -> None:
        pass

    # --- on its own (tools and tests): a background loop of its own -------------------------------

    def start(self) -> None:
        if self._own is None:
            self._own = BackgroundRunner(None, self)
            self._own.start()

    def stop(self) -> None:
        if self._own is not None:
            self._own.stop()
            self._own = None
