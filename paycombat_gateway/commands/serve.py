"""``paycombat-gateway serve``: migrate the database, then run the app under uvicorn.

``--workers N`` runs N processes on one host behind one listening socket (uvicorn's supervisor restarts
any that dies). The database is migrated once, here, before they start; each process then builds its
own app, with its own outbox worker and, on SQLite, its own checkpointer, as separate instances do.
Their metrics meet in one folder (``metrics.prepare_multiprocess``), cleared here first, so a scrape
answered by any of them counts them all. ``METRICS_LISTEN`` is served from this process, in a thread.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette

from paycombat_gateway.commands import positive_int

if TYPE_CHECKING:
    from paycombat_gateway.settings import Settings
    from paycombat_gateway.storage.db import Database

__all__ = ["register", "worker_app"]

logger = logging.getLogger(__name__)


def worker_app() -> Starlette:
    """The app of one ``--workers`` process (a uvicorn factory): configured from the environment,
    the database already migrated by the parent."""
    from paycombat_gateway.observability import configure_logging
    from paycombat_gateway.settings import Settings
    from paycombat_gateway.web.app import create_app

    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    _no_access_log()  # uvicorn silenced it before this factory ran; configure_logging turned it back on
    return create_app(settings, run_migrations=False)


def _no_access_log() -> None:
    """One line per request, RequestIdMiddleware's: uvicorn's own access line stays silent."""
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False


@contextmanager
def _metrics_listener(settings: Settings, database: Database | None) -> Iterator[None]:
    """Serve ``/metrics`` on ``METRICS_LISTEN`` (a thread of this process) while the block runs."""
    from paycombat_gateway.background_server import bind_loopback, serve_in_thread
    from paycombat_gateway.web.metrics_route import metrics_app

    assert settings.metrics.listen is not None and database is not None
    host, port = settings.metrics.listen
    sock = bind_loopback(host, port)
    with serve_in_thread(metrics_app(settings, database), sock=sock) as url:
        logger.info("metrics on %s/metrics", url)
        yield


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from paycombat_gateway.background_server import bind_loopback, bind_problem
    from paycombat_gateway.observability import configure_logging
    from paycombat_gateway.settings import Settings, port_number
    from paycombat_gateway.storage.secrets import warn_about_the_development_key

    port_number("--port", args.port)
    settings = Settings.from_env()  # a SettingsError becomes one line and exit status 2 (cli.main)
    configure_logging(settings.log_level, settings.log_format)
    _no_access_log()
    # Bound before migrating, so a taken port is the first thing a second `serve` hears about; it listens
    # only once uvicorn runs, so a probe meanwhile is refused (retry) rather than left waiting.
    try:
        sock = bind_loopback(args.host, args.port)
    except OSError as exc:
        print(f"paycombat-gateway serve: {bind_problem(args.host, args.port, exc)}", file=sys.stderr)
        return 2
    listen = settings.metrics.listen if settings.metrics.enabled else None
    if listen is not None:
        try:
            bind_loopback(*listen).close()  # a taken port is said now, in one line, not from a thread
        except OSError as exc:
            sock.close()
            problem = bind_problem(*listen, exc, remedy="choose another in METRICS_LISTEN")
            print(f"paycombat-gateway serve: METRICS_LISTEN: {problem}", file=sys.stderr)
            return 2
    if not os.environ.get("APP_URL", "").strip():  # development: the manifest names the port served
        app_url = _local_url(args.host, sock.getsockname()[1])
        os.environ["APP_URL"] = app_url  # for --workers' processes, which read the environment
        settings = dataclasses.replace(settings, app_url=app_url)
    if args.workers > 1:
        from paycombat_gateway.metrics import prepare_multiprocess
        from paycombat_gateway.storage.db import Database
        from paycombat_gateway.storage.migrate import migrate

        sock.close()  # the port is free; uvicorn's supervisor binds it itself and shares it with its processes
        migrate(settings.resolved_database_url)
        warn_about_the_development_key(settings.app_secret_key, settings.data_dir)  # once, not per worker
        prepare_multiprocess(settings.data_dir)  # before the processes start: they inherit the folder
        logger.info("serving with %d worker processes", args.workers)
        database = Database.from_url(settings.resolved_database_url, pool_size=2)
        with _metrics_listener(settings, database) if listen else nullcontext():
            uvicorn.run(
                f"{__name__}:worker_app",
                factory=True,
                workers=args.workers,
                host=args.host,
                port=args.port,
                **_uvicorn_options(args),
            )
        return 0
    # One process keeps its metrics in memory; an inherited PROMETHEUS_MULTIPROC_DIR would only gather
    # stale files. Unset before anything imports prometheus_client.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from paycombat_gateway.web.app import create_app

    try:
        app = create_app(settings)
    except BaseException:
        sock.close()
        raise
    host, port = sock.getsockname()[:2]
    warn_about_the_development_key(settings.app_secret_key, settings.data_dir)
    logger.info("listening on http://%s:%s (APP_URL %s)", host, port, settings.app_url)
    with _metrics_listener(settings, app.state.context.database) if listen else nullcontext():
        uvicorn.Server(uvicorn.Config(app, **_uvicorn_options(args))).run(sockets=[sock])
    return 0


def _uvicorn_options(args: argparse.Namespace) -> dict[str, Any]:
    """uvicorn's options, taken once the app has started (so a start that fails says only why)."""
    return {
        "log_config": None,  # keep our redacting JSON handler
        "access_log": False,  # RequestIdMiddleware logs one line per request
        "proxy_headers": True,
        "forwarded_allow_ips": args.forwarded_allow_ips,
        "timeout_graceful_shutdown": 10,
        **_loop_and_parser(),
    }


def _local_url(host: str, port: int) -> str:
    """The URL this machine reaches the app at, for ``APP_URL``'s development default."""
    if host in {"", "0.0.0.0", "::"}:  # noqa: S104 - every interface: this machine reaches it on loopback
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _loop_and_parser() -> dict[str, str]:
    """uvloop and httptools when installed (``uvicorn[standard]`` brings both), named explicitly so the
    log says what runs: issue 22 measured them at 25–32% of the CPU per request against asyncio's loop
    and h11. A missing one is a warning, not an error: the app still works, only slower."""
    chosen = {
        "loop": "uvloop" if find_spec("uvloop") else "asyncio",
        "http": "httptools" if find_spec("httptools") else "h11",
    }
    if chosen == {"loop": "uvloop", "http": "httptools"}:
        logger.info("event loop uvloop, HTTP parser httptools")
    else:
        logger.warning(
            "event loop %s, HTTP parser %s: install uvicorn[standard] for uvloop and httptools, "
            "which cost a quarter less CPU per request",
            chosen["loop"],
            chosen["http"],
        )
    return chosen


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the Saleor app (migrates the database first)",
        description="Run the Saleor app. Configuration comes from the environment: see the README.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="processes serving the port, each with its own outbox worker (default: 1)",
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="proxies whose X-Forwarded-* headers are trusted (default: 127.0.0.1)",
    )
    parser.set_defaults(handler=_serve)
