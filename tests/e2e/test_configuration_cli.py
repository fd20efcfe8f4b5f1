"""``paycombat-gateway config add|list`` against an installed app's database."""

from __future__ import annotations

from pathlib import Path

import pytest

from paycombat_gateway.cli import main
from paycombat_gateway.settings import Settings
from paycombat_gateway.storage.configs import config_for_channel, credentials, list_configs
from paycombat_gateway.storage.installations import get_installation
from paycombat_gateway.storage.migrate import migrate
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


def _add_argv(stack: Stack, *extra: str) -> list[str]:
    """config add for channel korea, moved from whichever configuration holds it."""
    return [
        "config", "add", "--saleor-api-url", stack.saleor.api_url, "--channel", "korea", "--move-channels", *extra,
    ]  # fmt: skip


@pytest.mark.usefixtures("environment")
def test_add_says_which_database_and_warns_without_app_url(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APP_URL")
    code = main(
        _add_argv(
            stack, "--name", "Default URL", "--x-token", "snd_a_xtoken_1", "--signature-key", "snd_a_key_1"
        )
    )
    assert code == 0
    out, err = capsys.readouterr()
    assert f"database: {stack.settings.database_url} (from DATABASE_URL)" in err
    config_id = out.split("id: ")[1].split()[0]
    assert f"webhook URL: http://127.0.0.1:8000/api/webhooks/paycombat/{config_id}" in out
    assert "warning: APP_URL is not set" in err


@pytest.mark.usefixtures("environment")
def test_secrets_come_from_the_environment_or_a_prompt(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYCOMBAT_X_TOKEN", "snd_env_xtoken_5555")
    monkeypatch.setenv("PAYCOMBAT_SIGNATURE_KEY", "snd_env_sigkey_6666")
    assert main(_add_argv(stack, "--name", "From env")) == 0
    monkeypatch.delenv("PAYCOMBAT_X_TOKEN")
    monkeypatch.delenv("PAYCOMBAT_SIGNATURE_KEY")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(_add_argv(stack, "--name", "Nothing given")) == 2
    assert "give --x-token, set PAYCOMBAT_X_TOKEN" in capsys.readouterr().err
    answers = iter(["snd_typed_xtoken_7777", "snd_typed_sigkey_8888"])
    prompts: list[str] = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or next(answers))
    assert main(_add_argv(stack, "--name", "Typed")) == 0
    assert prompts == ["PayCombat X-token: ", "PayCombat signature key: "]
    with stack.ctx.database.session() as session:
        installation = get_installation(session, stack.saleor.api_url)
        assert installation is not None
        keys = {
            config.name: credentials(stack.ctx.box, config)
            for config in list_configs(session, installation.id)
        }
    assert (keys["From env"].x_token, keys["From env"].signature_key) == (
        "snd_env_xtoken_5555",
        "snd_env_sigkey_6666",
    )
    assert (keys["Typed"].x_token, keys["Typed"].signature_key) == (
        "snd_typed_xtoken_7777",
        "snd_typed_sigkey_8888",
    )
    assert "Nothing given" not in keys
    assert "snd_typed" not in capsys.readouterr().out


@pytest.mark.usefixtures("environment")
def test_list_shows_the_api_url_the_server_calls(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYCOMBAT_API_URL", "http://127.0.0.1:9999/")
    assert main(_add_argv(stack, "--name", "Own", "--x-token", "snd_own_x_1", "--signature-key", "snd_own_k_1",
                     "--api-url", stack.sandbox.base_url)) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["config", "list"]) == 0
    listing, err = capsys.readouterr()
    assert f"PayCombat API: {stack.sandbox.base_url} (from this configuration)" in listing
    # the stack's own configuration has no API URL: the server calls PAYCOMBAT_API_URL
    assert "PayCombat API: http://127.0.0.1:9999 (from PAYCOMBAT_API_URL)" in listing
    assert f"database: {stack.settings.database_url} (from DATABASE_URL)" in err


def test_an_empty_list_says_how_to_add_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("APP_URL", "http://127.0.0.1:23999")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    migrate(Settings.from_env().resolved_database_url)
    assert main(["config", "list"]) == 0
    out = capsys.readouterr().out
    assert "Nothing configured: no Saleor has installed the app yet" in out
    assert "http://127.0.0.1:23999/api/manifest" in out and "paycombat-gateway config add" in out


@pytest.mark.parametrize("command", [["config", "list"], ["refunds", "list"], ["config", "add", "--saleor-api-url", "https://s.example/graphql/",
                                      "--name", "n", "--x-token", "x", "--signature-key", "k", "--channel", "c"]])  # fmt: skip
def test_a_command_started_in_the_wrong_folder_creates_nothing(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("DATA_DIR", "DATABASE_URL", "APP_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert main(command) == 2
    said, line = capsys.readouterr().err.strip().splitlines()
    assert said == f"database: sqlite:///{tmp_path / 'data' / 'paycombat-gateway.sqlite3'} (from DATA_DIR)"
    assert line.startswith("paycombat-gateway: DATA_DIR: there is no database at ")
    assert str(tmp_path / "data" / "paycombat-gateway.sqlite3") in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("environment")
def test_config_add_refuses_a_private_api_url_in_production(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("ALLOW_HTTP_APP_URL", "true")  # the stack serves http on loopback
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


def _errors(capsys: pytest.CaptureFixture[str]) -> str:
    """Standard error without the line naming the database (every command that opens one prints it)."""
    return "".join(
        line for line in capsys.readouterr().err.splitlines(True) if not line.startswith("database: ")
    )


def _names(stack: Stack) -> list[str]:
    with stack.ctx.database.session() as session:
        installation = get_installation(session, stack.saleor.api_url)
        assert installation is not None
        return [config.name for config in list_configs(session, installation.id)]


@pytest.mark.usefixtures("environment")
def test_config_add_follows_the_channel_rules(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(stack, "Typo", "--channel", "defualt-channel") == 2
    assert _errors(capsys) == (
        "paycombat-gateway config add: --channel: This Saleor has no channel 'defualt-channel'. "
        "Did you mean 'default-channel'?\n"
    )
    assert _add(stack, "Taker", "--channel", "default-channel") == 2
    assert _errors(capsys) == (
        "paycombat-gateway config add: --channel: Channel 'default-channel' already pays with configuration "
        "'Main'; move it explicitly to map it here. (pass --move-channels to move it)\n"
    )
    assert _names(stack) == ["Main"]
    assert _add(stack, "Taker", "--channel", "default-channel", "--channel", "poland", "--move-channels") == 0
    assert "warning: PayCombat takes no PLN: channel Poland will not offer PayCombat." in _errors(capsys)
    with stack.ctx.database.session() as session:
        installation = get_installation(session, stack.saleor.api_url)
        assert installation is not None
        holder = config_for_channel(session, installation.id, "default-channel")
        assert holder is not None and holder.name == "Taker"
    stack.saleor.mode = "down"
    assert _add(stack, "Offline", "--channel", "korea") == 1
    assert _errors(capsys) == (
        "paycombat-gateway config add: --channel: Could not read this Saleor's channels "
        "(Saleor answered HTTP 503). Nothing was saved.\n"
    )
    assert _names(stack) == ["Main", "Taker"]
