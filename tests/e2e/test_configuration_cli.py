"""``paycombat-gateway config add|list`` against an installed app's database."""

from __future__ import annotations

import pytest

from paycombat_gateway.cli import main
from paycombat_gateway.storage.configs import config_for_channel, credentials, list_configs
from paycombat_gateway.storage.installations import get_installation
from tests.support.stack import Stack


@pytest.fixture
def environment(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = stack.settings
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("APP_SECRET_KEY", settings.app_secret_key or "")
    monkeypatch.setenv("APP_URL", settings.app_url)
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))


@pytest.mark.usefixtures("environment")
def test_config_add_and_list(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([
        "config", "add", "--saleor-api-url", stack.saleor.api_url, "--name", "Korea",
        "--x-token", "snd_cli_xtoken_11112222", "--signature-key", "snd_cli_sigkey_33334444",
        "--channel", "korea", "--channel", "korea-b2b", "--api-url", stack.sandbox.base_url,
    ])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    config_id = out.split("id: ")[1].split()[0]
    assert f"{stack.app_url}/api/webhooks/paycombat/{config_id}" in out
    with stack.ctx.database.session() as session:
        installation = get_installation(session, stack.saleor.api_url)
        assert installation is not None
        config = config_for_channel(session, installation.id, "korea-b2b")
        assert config is not None and config.id == config_id
        assert credentials(stack.ctx.box, config).x_token == "snd_cli_xtoken_11112222"
    assert main(["config", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Korea" in listing and "****2222" in listing and "****4444" in listing
    assert "snd_cli_xtoken" not in listing and "snd_cli_sigkey" not in listing
    assert (
        main(
            [
                "config",
                "add",
                "--saleor-api-url",
                "http://127.0.0.1:9/graphql/",
                "--name",
                "x",
                "--x-token",
                "a",
                "--signature-key",
                "b",
                "--channel",
                "c",
            ]
        )
        == 2
    )
    assert "no installation" in capsys.readouterr().err


@pytest.mark.usefixtures("environment")
def test_config_add_refuses_a_private_api_url_in_production(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("ALLOWED_SALEOR_URLS", stack.saleor.api_url)
    code = main([
        "config", "add", "--saleor-api-url", stack.saleor.api_url, "--name", "Inside",
        "--x-token", "snd_cli_xtoken_11112222", "--signature-key", "snd_cli_sigkey_33334444",
        "--channel", "inside", "--api-url", stack.sandbox.base_url,
    ])  # fmt: skip
    assert code == 2
    assert "--api-url is not allowed" in capsys.readouterr().err
    with stack.ctx.database.session() as session:
        installation = get_installation(session, stack.saleor.api_url)
        assert installation is not None
        assert config_for_channel(session, installation.id, "inside") is None


def _add(stack: Stack, name: str, *extra: str) -> int:
    return main([
        "config", "add", "--saleor-api-url", stack.saleor.api_url, "--name", name,
        "--x-token", "snd_cli_xtoken_55556666", "--signature-key", "snd_cli_sigkey_77778888", *extra,
    ])  # fmt: skip


def _names(stack: Stack) -> list[str]:
    with stack.ctx.database.session() as session:
        installation = get_installation(session, stack.saleor.api_url)
        assert installation is not None
        return [config.name for config in list_configs(session, installation.id)]


@pytest.mark.usefixtures("environment")
def test_config_add_follows_the_channel_rules(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(stack, "Typo", "--channel", "defualt-channel") == 2
    assert capsys.readouterr().err == (
        "paycombat-gateway config add: --channel: This Saleor has no channel 'defualt-channel'. "
        "Did you mean 'default-channel'?\n"
    )
    assert _add(stack, "Taker", "--channel", "default-channel") == 2
    assert capsys.readouterr().err == (
        "paycombat-gateway config add: --channel: Channel 'default-channel' already pays with configuration "
        "'Main'; move it explicitly to map it here. (pass --move-channels to move it)\n"
    )
    assert _names(stack) == ["Main"]
    assert _add(stack, "Taker", "--channel", "default-channel", "--channel", "poland", "--move-channels") == 0
    assert (
        "warning: PayCombat takes no PLN: channel Poland will not offer PayCombat." in capsys.readouterr().err
    )
    with stack.ctx.database.session() as session:
        installation = get_installation(session, stack.saleor.api_url)
        assert installation is not None
        holder = config_for_channel(session, installation.id, "default-channel")
        assert holder is not None and holder.name == "Taker"
    stack.saleor.mode = "down"
    assert _add(stack, "Offline", "--channel", "korea") == 1
    assert capsys.readouterr().err == (
        "paycombat-gateway config add: --channel: Could not read this Saleor's channels "
        "(Saleor answered HTTP 503). Nothing was saved.\n"
    )
    assert _names(stack) == ["Main", "Taker"]
