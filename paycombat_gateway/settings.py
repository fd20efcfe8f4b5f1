"""Process configuration, read once from the environment.

Every setting has a development default so that ``paycombat-gateway serve`` works on an empty machine;
production (``APP_ENV=production``) refuses to start without the ones that must be chosen on purpose.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from paycombat_gateway.url_allowlist import UrlAllowList, parse_url

__all__ = [
    "BOOLEAN_WORDS",
    "DEFAULT_PAYCOMBAT_API_URL",
    "DEFAULT_RETENTION_DAYS",
    "MIN_SECRET_KEY_LENGTH",
    "SALEOR_SYNC_WEBHOOK_SECONDS",
    "MetricsSettings",
    "ProblemsSettings",
    "ReconcileSettings",
    "Settings",
    "SettingsError",
    "base_url",
    "env_bool",
    "normalise_database_url",
    "port_number",
    "writable_file",
]

DEFAULT_PAYCOMBAT_API_URL = "https://api.paycombat.com"
ALLOWED_SALEOR_URLS_FORM = (
    "ALLOWED_SALEOR_URLS is a comma-separated list of Saleor API URLs, e.g. "
    "https://*.saleor.cloud/graphql/,https://shop.example.com/graphql/ "
    "(*. admits any subdomain; scheme, port and path must match exactly; no regular expressions)"
)
ALLOWED_API_URLS_FORM = (
    "PAYCOMBAT_ALLOWED_API_URLS is a comma-separated list of https PayCombat base URLs, "
    "e.g. https://api.eu.paycombat.example"
)
DEFAULT_RETENTION_DAYS = 90  # docs/privacy.md: long enough for the merchant's questions about a payment
MAX_RETENTION_DAYS = 36_500
MIN_SECRET_KEY_LENGTH = 16  # a passphrase; a Fernet key (44 characters) is always longer
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("json", "text")
# How long Saleor waits for a sync webhook's answer; a PayCombat call made inside one must end sooner.
SALEOR_SYNC_WEBHOOK_SECONDS = 18.0
# The words a boolean setting may be, any case; anything else (``ture``) is refused, never read as false.
BOOLEAN_WORDS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}
# What hosting providers hand out (postgres://, postgresql://) means the one PostgreSQL driver installed.
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}


class SettingsError(RuntimeError):
    """The environment describes a configuration the app must not run with."""


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A boolean setting: true/false, 1/0, yes/no or on/off in any case; unset or empty is ``default``."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    value = BOOLEAN_WORDS.get(raw.lower())
    if value is None:
        raise SettingsError(f"{name} must be true or false (also 1/0, yes/no, on/off), not {raw!r}")
    return value


def port_number(name: str, value: int, *, any_free: bool = True) -> int:
    """A TCP port to listen on, ``name`` being the flag or setting it came from; 0 (any free port)
    unless ``any_free`` is False."""
    lowest = 0 if any_free else 1
    if not lowest <= value <= 65535:
        free = " (0 = any free port)" if any_free else ""
        raise SettingsError(f"{name} must be a port from {lowest} to 65535{free}, not {value}")
    return value


def base_url(name: str, raw: str) -> str:
    """A public base URL someone calls (``APP_URL``, ``--app-url``): http(s), a host, maybe a path; no
    query or fragment; without its trailing slash."""
    url = raw.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(
            f"{name} must be the app's public base URL with its scheme, e.g. https://pay.example.com, not {raw!r}"
        )
    return url


def writable_file(name: str, path: Path) -> Path:
    """A file a command is asked to write (``manifest -o``): its folder must already exist."""
    folder = path.parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise SettingsError(f"{name} {path}: the folder {folder} {problem}")
    if path.is_dir():
        raise SettingsError(f"{name} {path} is a folder; name the file to write")
    return path


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def _retention_days(env: Mapping[str, str]) -> int:
    """``DATA_RETENTION_DAYS``: how long shoppers' details are kept (storage/retention.py); 0 keeps none
    past the next retention pass."""
    raw = env.get("DATA_RETENTION_DAYS", "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    if not raw.isdigit() or int(raw) > MAX_RETENTION_DAYS:
        raise SettingsError(
            f"DATA_RETENTION_DAYS must be a whole number of days from 0 to {MAX_RETENTION_DAYS}, not {raw!r}"
        )
    return int(raw)


def _positive_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise SettingsError(f"{name} must be a number of seconds above 0, not {raw!r}")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = env.get(name, "").strip()
    value = (raw.upper() if choices[0].isupper() else raw.lower()) or default
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return value


def _secret_key(raw: str) -> str | None:
    """``APP_SECRET_KEY``, checked without echoing it: each comma-separated key is long enough."""
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    if not keys:
        return None
    short = [position for position, key in enumerate(keys, 1) if len(key) < MIN_SECRET_KEY_LENGTH]
    if short:
        which = "it is" if len(keys) == 1 else f"key {short[0]} of {len(keys)} is"
        raise SettingsError(
            f"APP_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters (or a Fernet key); {which} shorter"
        )
    return raw.strip()


def normalise_database_url(raw: str) -> str:
    """``DATABASE_URL`` as a SQLAlchemy URL on an installed driver; PostgreSQL's usual forms are accepted."""
    raw = raw.strip()
    if not raw:
        return ""
    from sqlalchemy.engine import make_url  # here, so that commands which never read it start quickly
    from sqlalchemy.exc import ArgumentError

    example = "e.g. postgresql://user:password@host:5432/name or sqlite:////var/lib/paycombat/app.sqlite3"
    try:
        url = make_url(raw)
    except ArgumentError:
        raise SettingsError(f"DATABASE_URL is not a database URL ({example})") from None
    if url.drivername in _POSTGRES_SCHEMES:
        url = url.set(drivername="postgresql+psycopg")
    elif url.get_backend_name() != "sqlite" or url.drivername not in {"sqlite", "sqlite+pysqlite"}:
        shown = url.render_as_string(hide_password=True)
        raise SettingsError(f"DATABASE_URL must be PostgreSQL or SQLite ({example}), not {shown}")
    return url.render_as_string(hide_password=False)


def _sqlite_folder_problem(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` when it is not a folder (so the file cannot be made)."""
    for ancestor in path.parents:
        if ancestor.exists():
            return None if ancestor.is_dir() else ancestor
    return None


def _sqlite_folder_missing(path: Path) -> bool:
    """Whether the folder of a SQLite file named by ``DATABASE_URL`` is missing: a typo there would
    otherwise become a new, empty database somewhere unexpected."""
    return not path.parent.is_dir()


@lru_cache(maxsize=16)
def _allow_list(raw: str, form: str, trailing_slash_insensitive: bool) -> UrlAllowList | None:
    """The parsed list (None when empty), or ``SettingsError`` saying how to write it."""
    if not raw.strip():
        return None
    try:
        return UrlAllowList.parse(raw, trailing_slash_insensitive=trailing_slash_insensitive)
    except ValueError as exc:
        raise SettingsError(f"{form}; {exc}") from None


@dataclass(frozen=True)
class ReconcileSettings:
    """How this instance's reconciler asks PayCombat about payments no webhook has settled.

    ``RECONCILE=false`` turns it off for this instance; ``RECONCILE_AFTER_SECONDS`` is how long a hosted
    checkout stays open before the first look; ``RECONCILE_INTERVAL_SECONDS`` the first wait between
    looks (doubling after each); ``RECONCILE_CALLS_PER_SECOND`` the most PayCombat calls this instance
    makes per second for one PayCombat configuration.
    """

    enabled: bool = True
    after_seconds: float = 600.0
    interval_seconds: float = 60.0
    calls_per_second: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReconcileSettings:
        return cls(
            enabled=env_bool(env, "RECONCILE", cls.enabled),
            after_seconds=_positive_seconds(env, "RECONCILE_AFTER_SECONDS", cls.after_seconds),
            interval_seconds=_positive_seconds(env, "RECONCILE_INTERVAL_SECONDS", cls.interval_seconds),
            calls_per_second=_calls_per_second(env, "RECONCILE_CALLS_PER_SECOND", cls.calls_per_second),
        )


def _calls_per_second(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        return _positive_seconds(env, name, default)
    except SettingsError:
        raise SettingsError(f"{name} must be a number of calls per second above 0, not {raw!r}") from None


MIN_METRICS_TOKEN_LENGTH = 16


def _listen_address(env: Mapping[str, str], name: str) -> tuple[str, int] | None:
    """``host:port`` (``[::1]:9464`` for IPv6), or None when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    host, _, port = raw.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise SettingsError(f"{name} must be host:port, e.g. 127.0.0.1:9464 or [::1]:9464, not {raw!r}")
    return host, int(port)


@dataclass(frozen=True)
class MetricsSettings:
    """Who may read ``/metrics`` (docs/operations.md, "Watching it").

    ``METRICS_LISTEN=host:port`` serves it on a listener of its own (say, an interface only the
    monitoring network reaches), and the app's port then answers 404 for it. ``METRICS_TOKEN`` makes
    every scrape show ``Authorization: Bearer <token>``. In production the app's own port refuses
    ``/metrics`` unless one of the two is set, so an app on the internet never shows its figures to
    anyone who asks. ``METRICS=false`` turns the endpoint off altogether.
    """

    enabled: bool = True
    listen: tuple[str, int] | None = None
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MetricsSettings:
        token = env.get("METRICS_TOKEN", "").strip() or None
        if token is not None and len(token) < MIN_METRICS_TOKEN_LENGTH:
            raise SettingsError(f"METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_LENGTH} characters")
        return cls(
            enabled=env_bool(env, "METRICS", cls.enabled),
            listen=_listen_address(env, "METRICS_LISTEN"),
            token=token,
        )


@dataclass(frozen=True)
class ProblemsSettings:
    """The check that shows the merchant what needs them, as App Problems in Saleor's Dashboard.

    ``PROBLEMS=false`` turns the check off for this instance; ``PROBLEMS_CHECK_SECONDS`` is how often
    each instance looks (the first look too, after a start); ``PROBLEMS_REFUND_OWED_HOURS`` how long a
    refund may stay owed before it is shown as a problem.
    """

    enabled: bool = True
    check_seconds: float = 300.0
    refund_owed_hours: float = 48.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ProblemsSettings:
        hours_raw = env.get("PROBLEMS_REFUND_OWED_HOURS", "").strip()
        try:
            hours = _positive_seconds(env, "PROBLEMS_REFUND_OWED_HOURS", cls.refund_owed_hours)
        except SettingsError:
            raise SettingsError(
                f"PROBLEMS_REFUND_OWED_HOURS must be a number of hours above 0, not {hours_raw!r}"
            ) from None
        return cls(
            enabled=env_bool(env, "PROBLEMS", cls.enabled),
            check_seconds=_positive_seconds(env, "PROBLEMS_CHECK_SECONDS", cls.check_seconds),
            refund_owed_hours=hours,
        )


@dataclass(frozen=True)
class Settings:
    """Everything the running app reads from its environment (see the README's table)."""

    app_url: str = "http://127.0.0.1:8000"
    app_env: str = "development"
    data_dir: Path = Path("data")
    database_url: str = ""
    app_secret_key: str | None = field(default=None, repr=False)
    allowed_saleor_urls: str = ""  # empty: any Saleor (never in production)
    paycombat_allowed_api_urls: str = ""
    paycombat_api_url: str = DEFAULT_PAYCOMBAT_API_URL
    log_level: str = "INFO"
    log_format: str = "json"
    max_body_bytes: int = 1_048_576
    outbox_poll_seconds: float = 1.0
    paycombat_connect_timeout: float = 3.0
    paycombat_read_timeout: float = 10.0
    run_outbox_worker: bool = True
    webhook_concurrency: int = 4
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    problems: ProblemsSettings = field(default_factory=ProblemsSettings)
    allow_http_app_url: bool = False  # production only: an http APP_URL, on purpose (README)
    data_retention_days: int = DEFAULT_RETENTION_DAYS

    def __post_init__(self) -> None:
        self._saleor_allow_list  # noqa: B018 - a bad list stops start-up here, not at the first install
        api_urls = self._api_allow_list
        if api_urls is not None and any(entry.scheme != "https" for entry in api_urls.entries):
            raise SettingsError(f"{ALLOWED_API_URLS_FORM}; every entry must be https")

    def check_production(self) -> None:
        """What development tolerates and production must not run with (``from_env`` calls it; a test
        building ``Settings(app_env="production")`` against a local http stack need not)."""
        if not self.is_production:
            return
        if urlsplit(self.app_url).scheme != "https" and not self.allow_http_app_url:
            raise SettingsError(
                f"APP_URL must be https in production (Saleor's tokens and payment data are sent to it), "
                f"not {self.app_url!r}; ALLOW_HTTP_APP_URL=true allows http on purpose"
            )
        if self.paycombat_read_timeout > SALEOR_SYNC_WEBHOOK_SECONDS:
            raise SettingsError(
                f"PAYCOMBAT_READ_TIMEOUT must be at most {SALEOR_SYNC_WEBHOOK_SECONDS:g} s in production "
                f"(Saleor stops waiting for a webhook's answer then), not {self.paycombat_read_timeout:g}"
            )

    @property
    def background_workers(self) -> str:
        """Which background workers this instance runs, and the setting that says so, for start-up's log."""
        outbox = "on" if self.run_outbox_worker else "off (RUN_OUTBOX_WORKER=false)"
        reconciler = "on" if self.reconcile.enabled else "off (RECONCILE=false)"
        return f"outbox worker {outbox}, reconciler {reconciler}"

    @property
    def _saleor_allow_list(self) -> UrlAllowList | None:
        return _allow_list(self.allowed_saleor_urls, ALLOWED_SALEOR_URLS_FORM, False)

    @property
    def _api_allow_list(self) -> UrlAllowList | None:
        return _allow_list(self.paycombat_allowed_api_urls, ALLOWED_API_URLS_FORM, True)

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def resolved_database_url(self) -> str:
        """``DATABASE_URL``, or a SQLite file in the data folder when none is given."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'paycombat-gateway.sqlite3').resolve()}"

    @property
    def database_setting(self) -> str:
        """The setting that chose the database, for messages about it."""
        return "DATABASE_URL" if self.database_url else "DATA_DIR"

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file the app uses, or None for PostgreSQL and in-memory SQLite."""
        from paycombat_gateway.storage.db import sqlite_file

        return sqlite_file(self.resolved_database_url)

    def saleor_url_allowed(self, saleor_api_url: str) -> bool:
        """Whether ``ALLOWED_SALEOR_URLS`` admits this Saleor API URL (see ``url_allowlist``); without a
        list (development) any URL that has no userinfo, query or fragment."""
        if self._saleor_allow_list is None:
            try:
                return bool(parse_url(saleor_api_url))
            except ValueError:
                return False
        return self._saleor_allow_list.allows(saleor_api_url)

    def paycombat_api_url_listed(self, api_url: str) -> bool:
        """Whether ``PAYCOMBAT_ALLOWED_API_URLS`` names this PayCombat base URL."""
        return self._api_allow_list is not None and self._api_allow_list.allows(api_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        app_env = env.get("APP_ENV", "development").strip().lower() or "development"
        if app_env not in {"development", "production", "test"}:
            raise SettingsError(f"APP_ENV must be development, production or test, not {app_env!r}")
        production = app_env == "production"
        missing = [
            name
            for name in ("APP_URL", "APP_SECRET_KEY", "ALLOWED_SALEOR_URLS")
            if production and not env.get(name, "").strip()
        ]
        if missing:  # all of them at once, not one per restart
            raise SettingsError(
                f"APP_ENV=production needs {', '.join(missing)} (see the README's configuration table)"
            )
        allowed = env.get("ALLOWED_SALEOR_URLS", "").strip()
        secret = _secret_key(env.get("APP_SECRET_KEY", ""))
        if production and secret is None:  # set, but only commas and spaces
            raise SettingsError("APP_ENV=production needs APP_SECRET_KEY: it holds no key")
        app_url = base_url("APP_URL", env["APP_URL"]) if env.get("APP_URL", "").strip() else cls.app_url
        data_dir = Path(env.get("DATA_DIR", "").strip() or cls.data_dir)
        database_url = normalise_database_url(env.get("DATABASE_URL", ""))
        paycombat_api_url = (env.get("PAYCOMBAT_API_URL", "").strip() or DEFAULT_PAYCOMBAT_API_URL).rstrip(
            "/"
        )
        settings = cls(
            app_url=app_url,
            app_env=app_env,
            data_dir=data_dir,
            database_url=database_url,
            app_secret_key=secret,
            allowed_saleor_urls=allowed,
            paycombat_allowed_api_urls=env.get("PAYCOMBAT_ALLOWED_API_URLS", "").strip(),
            paycombat_api_url=paycombat_api_url,
            log_level=_choice(env, "LOG_LEVEL", LOG_LEVELS, cls.log_level),
            log_format=_choice(env, "LOG_FORMAT", LOG_FORMATS, cls.log_format),
            max_body_bytes=_positive_int(env, "MAX_BODY_BYTES", cls.max_body_bytes),
            outbox_poll_seconds=_positive_seconds(env, "OUTBOX_POLL_SECONDS", cls.outbox_poll_seconds),
            paycombat_connect_timeout=_positive_seconds(
                env, "PAYCOMBAT_CONNECT_TIMEOUT", cls.paycombat_connect_timeout
            ),
            paycombat_read_timeout=_positive_seconds(
                env, "PAYCOMBAT_READ_TIMEOUT", cls.paycombat_read_timeout
            ),
            run_outbox_worker=env_bool(env, "RUN_OUTBOX_WORKER", cls.run_outbox_worker),
            webhook_concurrency=_positive_int(env, "WEBHOOK_CONCURRENCY", cls.webhook_concurrency),
            reconcile=ReconcileSettings.from_env(env),
            metrics=MetricsSettings.from_env(env),
            problems=ProblemsSettings.from_env(env),
            allow_http_app_url=env_bool(env, "ALLOW_HTTP_APP_URL", cls.allow_http_app_url),
            data_retention_days=_retention_days(env),
        )
        settings.check_production()
        settings.check_folders()
        return settings

    def check_folders(self) -> None:
        """Refuse a SQLite file or data folder that could never be created (a regular file in the way)."""
        sqlite = self.sqlite_path
        if sqlite is not None:
            blocker = _sqlite_folder_problem(sqlite)
            if blocker is not None:
                raise SettingsError(
                    f"{self.database_setting}: the SQLite file {sqlite} cannot be created: {blocker} is a file"
                )
            if self.database_url and _sqlite_folder_missing(sqlite):  # DATA_DIR's is made on first use
                raise SettingsError(
                    f"DATABASE_URL: the folder {sqlite.parent.absolute()} of the SQLite file does not exist "
                    "(create it, or fix the path)"
                )
        if self.app_secret_key is None and (self.data_dir.exists() and not self.data_dir.is_dir()):
            raise SettingsError(f"DATA_DIR {self.data_dir} is a file, not a folder")
