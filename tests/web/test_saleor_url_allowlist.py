"""Attack: installing from an attacker's Saleor by making its URL's text "contain" an allowed one.

The app runs with production settings and the README's allow-list shape; the attacker's fake Saleor is a
loopback receiver that records every request it gets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from paycombat_gateway.storage.installations import list_installations
from tests.support.receiver import run_receiver
from tests.support.saleor_double import run_saleor
from tests.support.stack import make_settings, serve_app

ALLOWED = "http://*.saleor.cloud/graphql/"
BYPASSES = [
    "{attacker}/.saleor.cloud/graphql/",
    "http://x.saleor.cloud@{host}/x.saleor.cloud/graphql/",
    "{attacker}/graphql/?x.saleor.cloud/graphql/",
    "{attacker}/graphql/#x.saleor.cloud/graphql/",
]


@pytest.mark.parametrize("shape", BYPASSES)
def test_a_url_that_only_looks_allowed_is_refused_before_any_request(tmp_path: Path, shape: str) -> None:
    with run_receiver() as attacker:
        settings = make_settings(
            tmp_path,
            "http://127.0.0.1:1",
            "http://127.0.0.1:2",
            app_env="production",
            allowed_saleor_urls=ALLOWED,
        )
        saleor_api_url = shape.format(attacker=attacker.base_url, host=attacker.base_url.split("://")[1])
        with serve_app(settings) as (url, app):
            answer = requests.post(
                f"{url}/api/register",
                json={"auth_token": "attacker-token"},
                headers={"Saleor-Api-Url": saleor_api_url},
                timeout=10,
            )
            assert answer.status_code == 403, answer.text
            assert answer.json()["error"]["code"] == "SALEOR_URL_PROHIBITED"
            with app.state.context.database.session() as session:
                assert list_installations(session) == []
        assert attacker.everything() == []


def test_an_exactly_listed_saleor_installs_and_its_neighbours_do_not(tmp_path: Path) -> None:
    with run_saleor() as saleor:
        listed = f"https://*.saleor.cloud/graphql/,{saleor.api_url}"
        settings = make_settings(
            tmp_path,
            "http://127.0.0.1:1",
            "http://127.0.0.1:2",
            app_env="production",
            allowed_saleor_urls=listed,
        )
        assert settings.saleor_url_allowed("https://shop.eu.saleor.cloud/graphql/")
        for neighbour in (
            "https://saleor.cloud/graphql/",
            "https://evilsaleor.cloud/graphql/",
            "https://shop.saleor.cloud.evil.example/graphql/",
            "http://shop.saleor.cloud/graphql/",
            "https://shop.saleor.cloud:8443/graphql/",
            "https://shop.saleor.cloud/graphql/x",
            saleor.api_url.replace("/graphql/", "/graphql"),
        ):
            assert not settings.saleor_url_allowed(neighbour), neighbour
        with serve_app(settings) as (url, _app):
            assert saleor.register(url).status_code == 200


@pytest.mark.parametrize(
    "value",
    [r"http://.*\.saleor\.cloud/graphql/", ".*", "shop.example.com/graphql/", "https://a.example/x?y", ","],
)
def test_a_value_that_is_not_a_list_of_urls_stops_start_up_with_one_line(tmp_path: Path, value: str) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "ALLOWED_SALEOR_URLS": value}
    result = subprocess.run(
        [sys.executable, "-m", "paycombat_gateway", "manifest"], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        "paycombat-gateway: ALLOWED_SALEOR_URLS is a comma-separated list of Saleor API URLs"
    )
    assert "https://*.saleor.cloud/graphql/" in line
