"""Settings come from the environment; production refuses to start half-configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from paycombat_gateway.settings import Settings, SettingsError, base_url, env_bool, port_number, writable_file

PRODUCTION = {
    "APP_ENV": "production",
    "APP_URL": "https://pay.example.com/",
    "APP_SECRET_KEY": "a-production-secret-key",
    "ALLOWED_SALEOR_URLS": "https://shop.example.com/graphql/",
}


def test_development_needs_nothing() -> None:
    settings = Settings.from_env({})
    assert settings.app_url == "http://127.0.0.1:8000"
    assert settings.saleor_url_allowed("https://anything.example/graphql/")
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.webhook_concurrency == 4
    assert settings == Settings(), "from_env's defaults are the dataclass's own"


def test_numbers_are_read() -> None:
    settings = Settings.from_env(
        {"PAYCOMBAT_READ_TIMEOUT": "2.5", "OUTBOX_POLL_SECONDS": "0.2", "MAX_BODY_BYTES": "2048"}
    )
    assert (settings.paycombat_read_timeout, settings.outbox_poll_seconds, settings.max_body_bytes) == (
        2.5,
        0.2,
        2048,
    )


def test_production_with_everything() -> None:
    settings = Settings.from_env({**PRODUCTION, "WEBHOOK_CONCURRENCY": "8"})
    assert settings.is_production and settings.app_url == "https://pay.example.com"
    assert settings.saleor_url_allowed("https://shop.example.com/graphql/")
    assert not settings.saleor_url_allowed("https://shop.example.com/graphql/x")
    assert settings.webhook_concurrency == 8
    assert "a-production-secret-key" not in repr(settings)


@pytest.mark.parametrize("missing", ["APP_URL", "APP_SECRET_KEY", "ALLOWED_SALEOR_URLS"])
def test_production_refuses_to_start_without(missing: str) -> None:
    environ = {key: value for key, value in PRODUCTION.items() if key != missing}
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(environ)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APP_ENV", "staging"),
        ("ALLOWED_SALEOR_URLS", "https://(unclosed"),
        ("WEBHOOK_CONCURRENCY", "0"),
        ("WEBHOOK_CONCURRENCY", "four"),
        ("MAX_BODY_BYTES", "1MB"),
        ("OUTBOX_POLL_SECONDS", "-1"),
        ("PAYCOMBAT_CONNECT_TIMEOUT", "three"),
        ("PAYCOMBAT_READ_TIMEOUT", "0"),
        ("PAYCOMBAT_READ_TIMEOUT", "inf"),
    ],
)
def test_bad_values_are_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_production_names_every_missing_setting_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"APP_ENV": "production"})
    assert "APP_URL, APP_SECRET_KEY, ALLOWED_SALEOR_URLS" in str(caught.value)
    with pytest.raises(SettingsError, match="APP_SECRET_KEY: it holds no key"):
        Settings.from_env({**PRODUCTION, "APP_SECRET_KEY": " , "})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://app:pw@db.example:5432/pay", "postgresql+psycopg://app:pw@db.example:5432/pay"),
        ("postgresql://app@db.example/pay", "postgresql+psycopg://app@db.example/pay"),
        ("postgresql+psycopg://app@db.example/pay", "postgresql+psycopg://app@db.example/pay"),
        ("sqlite:////tmp/app.sqlite3", "sqlite:////tmp/app.sqlite3"),  # its folder exists
    ],
)
def test_database_urls_in_the_forms_providers_hand_out(given: str, expected: str) -> None:
    assert Settings.from_env({"DATABASE_URL": given}).resolved_database_url == expected


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DATABASE_URL", "not-a-url", "is not a database URL"),
        ("DATABASE_URL", "mysql://app:pw@db/pay", "must be PostgreSQL or SQLite"),
        ("DATABASE_URL", "postgresql+psycopg2://app@db/pay", "must be PostgreSQL or SQLite"),
        ("APP_SECRET_KEY", "short", "at least 16 characters"),
        ("APP_SECRET_KEY", "a-key-that-is-long-enough,short", "key 2 of 2"),
        ("LOG_LEVEL", "LOUD", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("LOG_FORMAT", "yaml", "json, text"),
        ("APP_URL", "pay.example.com", "with its scheme"),
        ("APP_URL", "ftp://pay.example.com", "with its scheme"),
        ("APP_URL", "https://", "with its scheme"),
        ("METRICS_LISTEN", "9464", "must be host:port"),
        ("METRICS_LISTEN", "127.0.0.1:99999", "must be host:port"),
        ("METRICS_LISTEN", "127.0.0.1:http", "must be host:port"),
        ("METRICS_TOKEN", "short", "at least 16 characters"),
        ("PROBLEMS_REFUND_OWED_HOURS", "a day", "number of hours above 0"),
        ("PROBLEMS_CHECK_SECONDS", "0", "number of seconds above 0"),
    ],
)
def test_bad_values_say_what_is_wrong(name: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError, match=name) as caught:
        Settings.from_env({name: value})
    assert says in str(caught.value)


def test_metrics_settings_are_read() -> None:
    metrics = Settings.from_env(
        {"METRICS_LISTEN": "[::1]:9464", "METRICS_TOKEN": "a-scrape-token-long-enough", "METRICS": "false"}
    ).metrics
    assert metrics.listen == ("::1", 9464) and metrics.token == "a-scrape-token-long-enough"
    assert not metrics.enabled and "a-scrape-token" not in repr(metrics)
    assert Settings.from_env({"METRICS_LISTEN": "0.0.0.0:9464"}).metrics.listen == ("0.0.0.0", 9464)
    problems = Settings.from_env({"PROBLEMS_REFUND_OWED_HOURS": "1.5"}).problems
    assert problems.refund_owed_hours == 1.5 and problems.check_seconds == 300


def test_secrets_never_appear_in_the_message() -> None:
    for environ in (
        {"APP_SECRET_KEY": "tiny"},
        {"DATABASE_URL": "mysql://app:hunter2hunter2@db/pay"},
        {"METRICS_TOKEN": "tiny"},
    ):
        with pytest.raises(SettingsError) as caught:
            Settings.from_env(environ)
        assert "tiny" not in str(caught.value) and "hunter2" not in str(caught.value)


def test_a_sqlite_file_under_a_regular_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SettingsError, match="DATABASE_URL") as caught:
        Settings.from_env({"DATABASE_URL": f"sqlite:///{blocker}/db/app.sqlite3"})
    assert f"{blocker} is a file" in str(caught.value)
    with pytest.raises(SettingsError, match="DATA_DIR"):
        Settings.from_env({"DATA_DIR": str(blocker / "data")})
    assert not (tmp_path / "db").exists()


def test_app_url_keeps_a_path_and_drops_the_trailing_slash() -> None:
    assert Settings.from_env({"APP_URL": "https://pay.example.com/saleor/"}).app_url == (
        "https://pay.example.com/saleor"
    )


@pytest.mark.parametrize("name", ["RUN_OUTBOX_WORKER", "RECONCILE", "ALLOW_HTTP_APP_URL"])
def test_every_boolean_takes_the_usual_words_and_refuses_the_rest(name: str) -> None:
    def read(value: str) -> bool:
        settings = Settings.from_env({name: value})
        return {
            "RUN_OUTBOX_WORKER": settings.run_outbox_worker,
            "RECONCILE": settings.reconcile.enabled,
            "ALLOW_HTTP_APP_URL": settings.allow_http_app_url,
        }[name]

    for word in ("true", "TRUE", "1", "yes", "On", " on "):
        assert read(word) is True
    for word in ("false", "False", "0", "no", "OFF"):
        assert read(word) is False
    for typo in ("ture", "flase", "2", "enabled", "y"):
        with pytest.raises(SettingsError, match=f"^{name} must be true or false .*not '{typo}'$"):
            read(typo)


def test_env_bool_is_the_helper_other_settings_use() -> None:
    assert env_bool({}, "METRICS_ENABLED", True) is True
    assert env_bool({"METRICS_ENABLED": ""}, "METRICS_ENABLED", False) is False
    with pytest.raises(SettingsError, match="METRICS_ENABLED"):
        env_bool({"METRICS_ENABLED": "maybe"}, "METRICS_ENABLED", False)


def test_ports_and_base_urls_are_checked_by_name() -> None:
    assert port_number("--port", 0) == 0 and port_number("--port", 65535) == 65535
    for bad in (-1, 65536, 99999):
        with pytest.raises(SettingsError, match=f"^--port must be a port from 0 to 65535 .*not {bad}$"):
            port_number("--port", bad)
    with pytest.raises(SettingsError, match="from 1 to 65535"):
        port_number("METRICS_PORT", 0, any_free=False)
    assert base_url("--app-url", "https://pay.example.com/x/") == "https://pay.example.com/x"
    for bad in ("pay.example.com", "ftp://x", "https://", "https://pay.example.com/?a=1"):
        with pytest.raises(SettingsError, match=r"^--app-url must be"):
            base_url("--app-url", bad)


def test_a_file_to_write_needs_its_folder(tmp_path: Path) -> None:
    assert writable_file("--output", tmp_path / "m.json") == tmp_path / "m.json"
    with pytest.raises(SettingsError, match=f"the folder {tmp_path}/no/such does not exist"):
        writable_file("--output", tmp_path / "no" / "such" / "m.json")
    with pytest.raises(SettingsError, match="is a folder"):
        writable_file("--output", tmp_path)


def test_a_sqlite_file_in_a_missing_folder_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=f"^DATABASE_URL: the folder {tmp_path}/nonexist/dir of the"):
        Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path}/nonexist/dir/x.db"})
    assert not (tmp_path / "nonexist").exists()
    # DATA_DIR's default database is made with its folder on first use, as before
    assert Settings.from_env({"DATA_DIR": str(tmp_path / "new" / "data")}).sqlite_path is not None


def test_production_refuses_http_unless_told_and_timeouts_beyond_saleor() -> None:
    with pytest.raises(SettingsError, match=r"^APP_URL must be https in production.*ALLOW_HTTP_APP_URL=true"):
        Settings.from_env({**PRODUCTION, "APP_URL": "http://pay.example.com"})
    allowed = Settings.from_env({**PRODUCTION, "APP_URL": "http://pay.internal", "ALLOW_HTTP_APP_URL": "yes"})
    assert allowed.app_url == "http://pay.internal"
    assert Settings.from_env({"APP_URL": "http://127.0.0.1:9000"}).app_url == "http://127.0.0.1:9000"
    assert Settings.from_env({**PRODUCTION, "PAYCOMBAT_READ_TIMEOUT": "18"}).paycombat_read_timeout == 18
    with pytest.raises(
        SettingsError, match=r"^PAYCOMBAT_READ_TIMEOUT must be at most 18 s in production.*not 18\.5$"
    ):
        Settings.from_env({**PRODUCTION, "PAYCOMBAT_READ_TIMEOUT": "18.5"})
    assert Settings.from_env({"PAYCOMBAT_READ_TIMEOUT": "30"}).paycombat_read_timeout == 30


def test_start_up_can_say_which_background_workers_run() -> None:
    assert Settings.from_env({}).background_workers == "outbox worker on, reconciler on"
    assert Settings.from_env({"RUN_OUTBOX_WORKER": "0"}).background_workers == (
        "outbox worker off (RUN_OUTBOX_WORKER=false), reconciler on"
    )
