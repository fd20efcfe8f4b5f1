"""The periodic problems check: every ``PROBLEMS_CHECK_SECONDS``, each installation's Dashboard is made
to show what needs its merchant (``gateway.problems`` decides what that is).

One daemon thread per process, waiting first (a restart does not ask every Saleor and PayCombat at
once), then checking all installations together on an event loop of its own: no thread waits on one
call, and each installation has ``INSTALLATION_DEADLINE`` seconds, so a slow or hostile Saleor never
holds up another's check. A failed check is logged and tried again at the next round.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import aiohttp

from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.problems import CheckOutcome, check_installation
from paycombat_gateway.saleor.client import SaleorError
from paycombat_gateway.storage.db import StorageUnavailable
from paycombat_gateway.storage.installations import list_installations
from paycombat_gateway.storage.models import Installation

__all__ = ["INSTALLATION_DEADLINE", "ProblemsCheck"]

logger = logging.getLogger(__name__)
INSTALLATION_DEADLINE = 60.0


class ProblemsCheck:
    def __init__(self, ctx: GatewayContext, *, every_seconds: float | None = None) -> None:
        self.ctx = ctx
        self.every_seconds = every_seconds or ctx.settings.problems.check_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="problems-check", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.every_seconds):
            try:
                self.run_once()
            except StorageUnavailable:
                logger.warning("problems check: database unavailable; will retry")
            except Exception:  # the check must survive anything and run again
                logger.exception("problems check: unexpected error")

    def run_once(self) -> dict[str, CheckOutcome | None]:
        """Check every installation now; what each check did, by Saleor API URL (None: it failed)."""
        installations = [  # an uninstalled Saleor has no token: nothing can be shown there
            installation
            for installation in self.ctx.database.run(list_installations)
            if installation.uninstalled_at is None
        ]
        return asyncio.run(self._check_all(installations))

    async def _check_all(self, installations: list[Installation]) -> dict[str, CheckOutcome | None]:
        async with aiohttp.ClientSession(trust_env=True) as http:  # env proxies
            outcomes = await asyncio.gather(
                *(self._check(installation, http) for installation in installations)
            )
        return {
            installation.saleor_api_url: outcome
            for installation, outcome in zip(installations, outcomes, strict=True)
        }

    async def _check(self, installation: Installation, http: aiohttp.ClientSession) -> CheckOutcome | None:
        try:
            return await asyncio.wait_for(
                check_installation(self.ctx, installation, http), INSTALLATION_DEADLINE
            )
        except (SaleorError, StorageUnavailable, TimeoutError) as exc:
            logger.warning(
                "problems check for %s failed: %s", installation.saleor_api_url, exc or type(exc).__name__
            )
            return None
