"""The Dashboard page answers wherever Saleor's Dashboard may load it under its prefix (issue 19).

Dashboard 3.23 loads an app whose id carries a raw ``=`` at ``<appUrl>/extensions/app/<id>=``, under
the app's own host; the page must answer there, not a bare "Not Found"."""

from __future__ import annotations

import pytest
import requests

from tests.support.stack import Stack


@pytest.mark.parametrize(
    "path",
    ["/dashboard", "/dashboard/", "/dashboard/extensions/app/QXBwOjE=", "/dashboard/a/b?id=QXBwOjE%3D"],
)
def test_the_page_answers_for_any_path_under_its_prefix(stack: Stack, path: str) -> None:
    response = requests.get(stack.app_url + path, timeout=10)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script src="/dashboard/static/app.js"' in response.text  # its assets by absolute path
    assert "frame-ancestors *" in response.headers["content-security-policy"]


def test_a_missing_asset_is_still_a_404_not_the_page(stack: Stack) -> None:
    assert requests.get(stack.app_url + "/dashboard/static/nothing-here.js", timeout=10).status_code == 404
    assert requests.get(stack.app_url + "/dashboard/static/app.js", timeout=10).status_code == 200
