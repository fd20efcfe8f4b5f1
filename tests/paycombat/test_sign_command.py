"""The ``sign`` command prints what PayCombat expects, including for the Node.js vectors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from paycombat_gateway.cli import main
from tests.support.fixtures import fixture_text


def test_sign_matches_node_vectors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vectors = json.loads(fixture_text("paycombat-signature-vector.json"))["vectors"]
    for index, vector in enumerate(vectors):
        body = tmp_path / f"{index}.json"
        body.write_text(vector["body_js_stringify"], encoding="utf-8")
        assert main(["sign", "--key", vector["signature_key"], "--show-string", str(body)]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == vector["signature"]
        assert lines[1] == vector["body_js_stringify"]


def test_sign_reads_stdin_and_the_key_from_the_environment(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "paycombat_gateway", "sign"],
        input='{"amount": 100.0, "note": "a/b"}',
        capture_output=True,
        text=True,
        env={"PAYCOMBAT_SIGNATURE_KEY": "k" * 20, "PATH": ""},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 64
    assert "re-serialised" in result.stderr


def test_invalid_json_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = tmp_path / "bad.json"
    body.write_text("{nope", encoding="utf-8")
    assert main(["sign", "--key", "k", str(body)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
