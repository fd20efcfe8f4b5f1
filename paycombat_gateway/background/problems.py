"""The periodic problems check: every ``PROBLEMS_CHECK_SECONDS``, each installation's Dashboard is made
to show what needs its merchant (``gateway.problems`` decides what that is).

A worker of the process's background event loop (``runner``), beside the outbox and the reconciler:
its Saleor calls go through the loop's one session, its key checks through the loop's PayCombat
clients, its database work through ``in_thread``. It waits first (a restart does not ask every Saleor
and PayCombat at once), then checks the installations side by side, at most ``PROBLEMS_CHECK_SHARE``
at once (so at most that many of the loop's database threads), each ended by
``INSTALLATION_DEADLINE``: a slow or hostile Saleor holds up neither another's check nor the outbox's
and reconciler's work, which never wait for a check. A failed check is logged and tried again at the
next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from pathlib import Path

import aiohttp

from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.problems import CheckOutcome, check_installation
from paycombat_gateway.outbound import PROBLEMS_CHECK_SHARE, open_session
from paycombat_gateway.saleor.client import SaleorError
from paycombat_gateway.storage.db import StorageUnavailable
from paycombat_gateway.storage.installations import list_installations
from paycombat_gateway.storage.models import Installation

__all__ = ["INSTALLATION_DEADLINE", "ProblemsCheck"]

logger = logging.getLogger(__name__)
INSTALLATION_DEADLINE = 60.0


class ProblemsCheck:
    """The problems check: a worker of the background loop, or one round on demand (tests)."""

    name = "problems"

    def __init__(self, ctx: GatewayContext, *, every_seconds: float | None = None) -> None:
        self.ctx = ctx
        self.every_seconds = every_seconds or ctx.settings.problems.check_seconds

    # --- life on the background loop (``runner.BackgroundWorker``) -------------------------------

    def prepare(self) -> None:
        pass

    async def serve(self, stopping: asyncio.Event, http: aiohttp.ClientSession) -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):  # the pause first, cut short by stopping
                await asyncio.wait_for(stopping.wait(), self.every_seconds)
            if stopping.is_set():
                return
            try:
                await self.check_all(http)
            except StorageUnavailable:
                logger.warning("problems check: database unavailable; will retry")
            except Exception:  # the check must survive anything and run again
                logger.exception("problems check: unexpected error")

    def finish(self) -> None:
        pass

    # --- one round ----------------------------------------------------------------------------------

    def run_once(self) -> dict[str, CheckOutcome | None]:
        """Check every installation now, on a private event loop and session (tests, tools); what
        each check did, by Saleor API URL (None: it failed)."""
        return asyncio.run(self._on_own_session())

    async def _on_own_session(self) -> dict[str, CheckOutcome | None]:
        try:
            async with open_session() as http:
                return await self.check_all(http)
        finally:
            await self.ctx.aclose_loop()  # the PayCombat clients the key checks opened on this loop

    async def check_all(self, http: aiohttp.ClientSession) -> dict[str, CheckOutcome | None]:
        """Check every installed Saleor through ``http``, side by side within the check's share."""
        installations = [  # an uninstalled Saleor has no token: nothing can be shown there
            installation
            for installation in await in_thread(self.ctx.database.run, list_installations)
            if installation.uninstalled_at is None
        ]
        share = asyncio.Semaphore(PROBLEMS_CHECK_SHARE)
        outcomes = await asyncio.gather(
            *(self._check(installation, http, share) for installation in installations)
        )
        return {
            installation.saleor_api_url: outcome
            for installation, outcome in zip(installations, outcomes, strict=True)
        }

    async def _check(
        self, installation: Installation, http: aiohttp.ClientSession, share: asyncio.Semaphore
    ) -> CheckOutcome | None:
        async with share:
            try:
                async with asyncio.timeout(INSTALLATION_DEADLINE):
                    return await check_installation(self.ctx, installation, http)
            except (SaleorError, StorageUnavailable, TimeoutError) as exc:
                logger.warning(
                    "problems check for %s failed: %s",
                    installation.saleor_api_url, exc or type(exc).__name__,
                )  # fmt: skip
                return None
            except Exception as exc:  # a bug or a hostile answer in one tenant never ends the others' round
                logger.error(
                    "problems check for %s failed unexpectedly: %s at %s",
                    installation.saleor_api_url, type(exc).__name__, _raised_at(exc),
                )  # fmt: skip
                return None


def _raised_at(exc: BaseException) -> str:
    """Where ``exc`` was raised (file:line), to find the bug by: its message and traceback are left out,
    since they can quote what a peer sent or a key."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "unknown"
