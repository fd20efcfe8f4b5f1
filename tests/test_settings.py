"""Settings come from the environment; production refuses to start half-configured."""

from __future__ import annotations

import pytest

from paycombat_gateway.settings import Settings, SettingsError

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
