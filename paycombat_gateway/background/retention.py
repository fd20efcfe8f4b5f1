"""The periodic retention pass: shoppers' details past ``DATA_RETENTION_DAYS`` are removed while the
server runs (what goes and what stays: ``storage.retention``). Every instance runs one; passes on
several instances at once only repeat a cheap query, since a row is changed once."""

from __future__ import annotations

import logging

from paycombat_gateway.gateway.background import BackgroundLoop
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.retention import BATCH, purge_expired, retention_cutoff

__all__ = ["RETENTION_INTERVAL_SECONDS", "RetentionRunner"]

logger = logging.getLogger(__name__)

RETENTION_INTERVAL_SECONDS = 3600.0  # details live at most DATA_RETENTION_DAYS plus an hour


class RetentionRunner:
    """One batch per round; a full batch is followed at once by the next, otherwise the pause."""

    def __init__(
        self, database: Database, days: int, *, interval_seconds: float = RETENTION_INTERVAL_SECONDS
    ) -> None:
        self.database = database
        self.days = days
        self._loop = BackgroundLoop("retention", self.run_once, batch=BATCH, poll_seconds=interval_seconds)

    def run_once(self) -> int:
        with self.database.session() as session:
            purged = purge_expired(session, older_than=retention_cutoff(self.days))
        if purged.total:
            logger.info(
                "retention: shoppers' details removed from %d delivery(ies) and %d payment(s) older than %d day(s)",
                purged.deliveries, purged.payments, self.days,
            )  # fmt: skip
        return max(purged.deliveries, purged.payments)

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
