"""``DATA_RETENTION_DAYS``: a documented default, 0 allowed, anything else refused naming the setting."""

from __future__ import annotations

import pytest

from paycombat_gateway.settings import DEFAULT_RETENTION_DAYS, Settings, SettingsError


def test_the_default_and_zero() -> None:
    assert Settings.from_env({}).data_retention_days == DEFAULT_RETENTION_DAYS == 90
    assert Settings.from_env({"DATA_RETENTION_DAYS": " 0 "}).data_retention_days == 0
    assert Settings.from_env({"DATA_RETENTION_DAYS": "30"}).data_retention_days == 30


@pytest.mark.parametrize("value", ["-1", "ninety", "1.5", "99999999"])
def test_bad_values_are_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(SettingsError, match="DATA_RETENTION_DAYS must be a whole number of days from 0"):
        Settings.from_env({"DATA_RETENTION_DAYS": value})
