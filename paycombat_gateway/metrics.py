"""Every Prometheus metric the app exports, defined once, and the one-line calls that record them.

Names are public interface: dashboards and alert rules depend on them (docs/operations.md, "Watching
it"). Labels stay low-cardinality and carry nothing a caller chose: an endpoint's name from the
PayCombat contract, a route *template*, an outcome from a fixed list; never a Saleor URL, an order, a
payment, a shopper or a secret.

Two kinds of figures:

- what happens in a process (HTTP requests, PayCombat calls, webhook deliveries, reports sent, the
  reconciler's look-ups) is counted here, as it happens. Under ``serve --workers N`` every process
  writes its own values to a shared folder (``PROMETHEUS_MULTIPROC_DIR``, set up by ``serve`` through
  ``prepare_multiprocess``) and a scrape, whichever process answers it, adds them up;
- what is true in the database (reports owed to Saleor, refunds owed, payments held) is read from the
  database when ``/metrics`` is scraped (``web.metrics_route``), so it is right whatever process answers
  and however many instances share the database.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from paycombat_gateway.paycombat.errors import PaycombatError

__all__ = [
    "CONTENT_TYPE",
    "MULTIPROCESS_ENV",
    "PREFIX",
    "exposition",
    "multiprocess_dir",
    "observe_http_request",
    "observe_paycombat_call",
    "prepare_multiprocess",
    "process_exited",
    "record_outbox_delivery",
    "record_reconciler_lookup",
    "record_webhook",
    "set_reconciler_paused",
]

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The text format every Prometheus reads (2.x and 3.x); ``generate_latest`` writes exactly it for these names.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "paycombat_gateway"

# Seconds. PayCombat is given 3 s to connect and 10 s to read (with retries); Saleor's sync webhooks
# wait 20 s at most, so buckets reach past that.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)

HTTP_REQUEST_DURATION = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and status code.",
    ("route", "status"),
    buckets=_LATENCY_BUCKETS,
)
PAYCOMBAT_REQUEST_DURATION = Histogram(
    f"{PREFIX}_paycombat_request_duration_seconds",
    "Time one PayCombat operation took, retries included, by endpoint and outcome.",
    ("endpoint", "outcome"),
    buckets=_LATENCY_BUCKETS,
)
PAYCOMBAT_WEBHOOKS = Counter(
    f"{PREFIX}_paycombat_webhooks",
    "PayCombat webhook deliveries received, by what became of them (stored, duplicate, held, ignored: a "
    "signed payin not about the payment it names, bad_signature, unknown_configuration, unreadable, "
    "paycombat_unavailable).",
    ("outcome",),
)
OUTBOX_DELIVERIES = Counter(
    f"{PREFIX}_outbox_deliveries",
    "Attempts to deliver a report owed to Saleor, by outcome (sent, retry, parked).",
    ("outcome",),
)
RECONCILER_LOOKUPS = Counter(
    f"{PREFIX}_reconciler_lookups",
    "Payments the reconciler looked up at PayCombat, by what it found.",
    ("result",),
)
RECONCILER_PAUSED = Gauge(
    f"{PREFIX}_reconciler_paused_configurations",
    "PayCombat configurations whose reconciliation is paused because PayCombat failed (per process; "
    "the highest among live processes).",
    multiprocess_mode="livemax",
)

WEBHOOK_OUTCOMES = ("stored", "duplicate", "held", "bad_signature", "unknown_configuration", "unreadable",
                    "paycombat_unavailable")  # fmt: skip
OUTBOX_OUTCOMES = ("sent", "retry", "parked")


# --- one-line recording calls ------------------------------------------------------------------------


def observe_http_request(route: str, status: int, seconds: float) -> None:
    HTTP_REQUEST_DURATION.labels(route, str(status)).observe(seconds)


def _kind(error: PaycombatError) -> str:
    """The PayCombat error's kind in snake case (``AuthenticationError`` -> ``authentication``)."""
    name = type(error).__name__.removesuffix("Error") or type(error).__name__
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name).lstrip("_")


class observe_paycombat_call:
    """Time one PayCombat operation; its outcome is ``ok``, the kind of PayCombat error it ended with,
    ``abandoned`` (its caller stopped waiting) or ``unexpected`` (a bug). A class rather than a
    ``@contextmanager`` generator: it runs on every outbound call, and costs a third as much."""

    __slots__ = ("_endpoint", "_started")

    def __init__(self, endpoint: str) -> None:
        self._endpoint = endpoint
        self._started = time.perf_counter()

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        if kind is None:
            outcome = "ok"
        elif kind is GeneratorExit:
            outcome = "abandoned"
        elif isinstance(error, PaycombatError):
            outcome = _kind(error)
        else:
            outcome = "unexpected"
        PAYCOMBAT_REQUEST_DURATION.labels(self._endpoint, outcome).observe(
            time.perf_counter() - self._started
        )


def record_webhook(outcome: str) -> None:
    PAYCOMBAT_WEBHOOKS.labels(outcome).inc()


def record_outbox_delivery(outcome: str) -> None:
    OUTBOX_DELIVERIES.labels(outcome).inc()


def record_reconciler_lookup(result: str) -> None:
    """``result`` is the reconciler's tally word (``paid``, ``nothing yet``, ``unavailable``, …)."""
    RECONCILER_LOOKUPS.labels(result.replace(" ", "_")).inc()


def set_reconciler_paused(configurations: int) -> None:
    RECONCILER_PAUSED.set(configurations)


# --- exposition and the multiprocess folder -----------------------------------------------------------


def multiprocess_dir() -> Path | None:
    raw = os.environ.get(MULTIPROCESS_ENV, "").strip()
    return Path(raw) if raw else None


def prepare_multiprocess(data_dir: Path) -> Path:
    """Set up the folder ``serve --workers N`` shares its processes' metrics in: ``DATA_DIR/metrics``
    (or ``PROMETHEUS_MULTIPROC_DIR`` when the operator set one), without the files a previous run left,
    which would be counted again (only those: the folder may be the operator's). Must run before the
    worker processes start."""
    folder = multiprocess_dir() or data_dir / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.db"):
        leftover.unlink()
    os.environ[MULTIPROCESS_ENV] = str(folder)
    return folder


def process_exited() -> None:
    """Forget this process's live gauges (a ``--workers`` process that stops)."""
    folder = multiprocess_dir()
    if folder is not None and folder.is_dir():
        mark_process_dead(os.getpid(), str(folder))  # type: ignore[no-untyped-call]


class _ThisProcess(Collector):
    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def exposition(database_figures: Collector | None = None) -> bytes:
    """The text format of every metric: all processes' when they share a folder, else this one's, and
    ``database_figures`` (read at this scrape)."""
    registry = CollectorRegistry()
    folder = multiprocess_dir()
    if folder is not None:
        MultiProcessCollector(registry, str(folder))  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    if database_figures is not None:
        registry.register(database_figures)
    return generate_latest(registry)
