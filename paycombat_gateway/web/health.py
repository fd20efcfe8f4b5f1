"""Liveness and readiness probes for load balancers and orchestrators.

``/healthz`` answers as long as the process serves HTTP: it touches no database and no secret, so a
database outage never makes an orchestrator restart healthy processes. ``/readyz`` says whether this
instance can take traffic: the database answers, its schema is at the packaged migration head, and it
takes writes (a full disk fails every write while reads still answer).

Neither queues behind webhook work: ``/healthz`` does nothing off the event loop, and ``/readyz``'s
database check runs on threads of its own (``PROBE_THREADS``), never on the pool the flows' database
work uses (``gateway.blocking``), which webhooks can fill.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from paycombat_gateway import __version__
from paycombat_gateway.gateway.blocking import in_own_threads

__all__ = ["health_routes"]

logger = logging.getLogger(__name__)
PROBE_THREADS = 2  # an orchestrator probes every few seconds; two at once is ample


def health_routes(readiness_check: Callable[[], str | None]) -> list[Route]:
    """Routes for ``/healthz`` and ``/readyz``; ``readiness_check`` returns None when ready, else why not."""
    probes = anyio.CapacityLimiter(PROBE_THREADS)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(request: Request) -> JSONResponse:
        try:
            problem = await in_own_threads(probes, readiness_check)
        except Exception:  # a probe must answer, whatever broke
            logger.exception("readiness check failed")
            problem = "readiness check failed"
        if problem is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready", "reason": problem}, status_code=503)

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
