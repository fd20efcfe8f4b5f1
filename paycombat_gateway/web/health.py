"""Liveness and readiness probes for load balancers and orchestrators.

``/healthz`` answers as long as the process serves HTTP: it touches no database and no secret, so a
database outage never makes an orchestrator restart healthy processes. ``/readyz`` says whether this
instance can take traffic: the database answers, its schema is at the packaged migration head, and it
takes writes (a full disk fails every write while reads still answer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from paycombat_gateway import __version__

__all__ = ["health_routes"]

logger = logging.getLogger(__name__)


def health_routes(readiness_check: Callable[[], str | None]) -> list[Route]:
    """Routes for ``/healthz`` and ``/readyz``; ``readiness_check`` returns None when ready, else why not."""

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(request: Request) -> JSONResponse:
        try:
            problem = await run_in_threadpool(readiness_check)
        except Exception:  # a probe must answer, whatever broke
            logger.exception("readiness check failed")
            problem = "readiness check failed"
        if problem is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready", "reason": problem}, status_code=503)

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
