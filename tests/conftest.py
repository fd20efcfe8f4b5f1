"""Markers that say what a test needs from the machine, so ``-m "not postgres"`` and ``-m "not browser"``
select exactly what their names say.

A test is marked ``postgres`` when it is parametrised onto PostgreSQL (the ``database`` and
``any_cluster`` fixtures' "postgresql" parameter), or by hand when it opens a PostgreSQL database itself.
``tests.support.databases`` fails any test that reaches PostgreSQL without the marker, so a forgotten
marker cannot hide. Every test in ``tests/browser/`` (the only ones that import Playwright) is marked
``browser``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import databases

BROWSER_TESTS = Path(__file__).resolve().parent / "browser"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgresql" in [value for value in callspec.params.values()]:
            item.add_marker(pytest.mark.postgres)
        if BROWSER_TESTS in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def _current_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Lets ``postgres_database_url`` check that the test using it is marked ``postgres``."""
    databases.current_test = request.node
    yield
    databases.current_test = None
