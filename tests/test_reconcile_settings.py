"""The reconciler's settings: defaults as the issue names them, read per instance, bad values named."""

from __future__ import annotations

import pytest

from paycombat_gateway.settings import ReconcileSettings, Settings, SettingsError


def test_defaults() -> None:
    reconcile = Settings.from_env({}).reconcile
    assert reconcile == ReconcileSettings(
        enabled=True, after_seconds=600, interval_seconds=60, calls_per_second=5
    )


def test_read_from_the_environment() -> None:
    reconcile = Settings.from_env(
        {
            "RECONCILE": "false",
            "RECONCILE_AFTER_SECONDS": "120",
            "RECONCILE_INTERVAL_SECONDS": "30.5",
            "RECONCILE_CALLS_PER_SECOND": "0.5",
        }
    ).reconcile
    assert reconcile == ReconcileSettings(
        enabled=False, after_seconds=120, interval_seconds=30.5, calls_per_second=0.5
    )


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("RECONCILE_AFTER_SECONDS", "ten", "number of seconds above 0"),
        ("RECONCILE_INTERVAL_SECONDS", "0", "number of seconds above 0"),
        ("RECONCILE_CALLS_PER_SECOND", "-1", "number of calls per second above 0"),
    ],
)
def test_bad_values_are_one_line_naming_the_setting(name: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({name: value})
    assert (
        str(refused.value).startswith(name)
        and says in str(refused.value)
        and repr(value) in str(refused.value)
    )
