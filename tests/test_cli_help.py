"""Every sub-command and option of ``paycombat-gateway`` explains itself, with its default."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from paycombat_gateway.cli import build_parser, main


def _walk(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield f"{path} {choice.dest}", choice
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction | argparse._VersionAction):
            yield path, action


def test_every_sub_command_and_option_has_help_naming_its_default() -> None:
    missing = []
    for path, action in _walk(build_parser(), "paycombat-gateway"):
        where = f"{path} {'/'.join(action.option_strings) or action.dest}"
        if not action.help:
            missing.append(f"{where}: no help")
        elif action.option_strings and not action.required and "default" not in action.help:
            missing.append(f"{where}: no default in {action.help!r}")
    assert missing == []


def test_the_help_of_config_add_says_where_secrets_can_come_from(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["config", "add", "--help"])
    assert exited.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "PAYCOMBAT_X_TOKEN" in help_text and "PAYCOMBAT_SIGNATURE_KEY" in help_text
    assert "asked for without echo" in help_text and "(default: sandbox)" in help_text
