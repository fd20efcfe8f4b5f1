"""``GET /metrics``: the Prometheus text format, with the database's figures read at the scrape.

Who may read it follows ``METRICS_*`` (``settings.MetricsSettings``): on the app's port unless
``METRICS_LISTEN`` moves it to a listener of its own (``metrics_app``); a bearer token when
``METRICS_TOKEN`` is set; in production, never on the app's port without one of the two.

A scrape's database read runs on a thread of its own (``SCRAPE_THREADS``), like ``/readyz``'s: never on
the pool the flows' database work uses (``gateway.blocking``) nor on Starlette's shared one, so a scrape
never queues behind request work, and never takes a thread from it.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable

import anyio
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paycombat_gateway.gateway.blocking import in_thread_limited
from paycombat_gateway.metrics import CONTENT_TYPE, PREFIX, exposition
from paycombat_gateway.settings import Settings
from paycombat_gateway.storage.backlog import Backlog, read_backlog
from paycombat_gateway.storage.db import Database, StorageUnavailable
from paycombat_gateway.storage.models import utcnow

__all__ = ["BacklogCollector", "metrics_app", "metrics_routes"]

logger = logging.getLogger(__name__)
SCRAPE_THREADS = 1  # Prometheus scrapes every few seconds; a second scrape at once waits its turn


class BacklogCollector(Collector):
    """The gauges whose truth is in the database, read when scraped: the same whichever process or
    instance answers."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def _read(self) -> Backlog | None:
        try:
            return self._database.run(lambda session: read_backlog(session, utcnow()), attempts=1)
        except StorageUnavailable:
            return None

    def collect(self) -> Iterable[Metric]:
        backlog = self._read()
        yield _gauge("database_up", "1 when the figures below could be read from the database.",
                     0 if backlog is None else 1)  # fmt: skip
        if backlog is None:
            return
        reports = GaugeMetricFamily(
            f"{PREFIX}_outbox_reports",
            "Reports owed to Saleor: owed (will be retried) or parked (need an operator).",
            labels=["state"],
        )
        reports.add_metric(["owed"], backlog.reports_owed)
        reports.add_metric(["parked"], backlog.reports_parked)
        yield reports
        yield _gauge(
            "outbox_oldest_report_age_seconds",
            "Age of the oldest report still owed to Saleor (0 when none).",
            backlog.oldest_report_age_seconds,
        )
        yield _gauge("refunds_owed", "Refunds waiting for the merchant to carry out.", backlog.refunds_owed)
        yield _gauge(
            "refunds_owed_oldest_age_seconds",
            "Age of the oldest refund still owed (0 when none).",
            backlog.oldest_refund_age_seconds,
        )
        yield _gauge(
            "payments_held",
            "Payments held for the merchant's review: PayCombat said paid, but its answer proved no payment.",
            backlog.payments_held,
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=value)


def _refusal(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": {"code": code, "message": message}}, status_code=status)


def metrics_routes(settings: Settings, database: Database, *, own_listener: bool = False) -> list[Route]:
    """``/metrics`` for the app's port (``own_listener`` False) or for ``METRICS_LISTEN``'s."""
    options = settings.metrics
    collector = BacklogCollector(database)
    token = options.token.encode() if options.token else None
    scrapes = anyio.CapacityLimiter(SCRAPE_THREADS)

    async def metrics(request: Request) -> Response:
        if not options.enabled or (options.listen is not None and not own_listener):
            return _refusal(404, "NOT_FOUND", "Metrics are not served here.")
        if token is None and settings.is_production and not own_listener:
            return _refusal(
                403, "METRICS_TOKEN_REQUIRED", "Set METRICS_TOKEN or METRICS_LISTEN to read metrics here."
            )
        if token is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token):
                return _refusal(
                    401, "METRICS_TOKEN_INVALID", "Metrics need Authorization: Bearer <METRICS_TOKEN>."
                )
        body = await in_thread_limited(scrapes, exposition, collector)
        return Response(body, headers={"content-type": CONTENT_TYPE})

    return [Route("/metrics", metrics, methods=["GET"])]


def metrics_app(settings: Settings, database: Database) -> Starlette:
    """The app ``METRICS_LISTEN`` serves: ``/metrics`` alone."""
    return Starlette(routes=metrics_routes(settings, database, own_listener=True))
