"""The GraphQL documents this app declares or sends, kept as ``.graphql`` files in the package."""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["APP_PROBLEM_DOCUMENTS", "GRAPHQL_DIR", "all_documents", "load_document"]

GRAPHQL_DIR = Path(__file__).with_name("graphql")
# Valid on Saleor 3.22 and later only: sent only to a Saleor whose version says it offers App Problems.
APP_PROBLEM_DOCUMENTS = frozenset(
    {
        "operations/app_problems.graphql",
        "operations/app_problem_create.graphql",
        "operations/app_problem_dismiss.graphql",
    }
)


@cache
def load_document(relative_path: str) -> str:
    """The text of ``graphql/<relative_path>`` (e.g. ``operations/app_id.graphql``)."""
    return (GRAPHQL_DIR / relative_path).read_text(encoding="utf-8")


def all_documents() -> dict[str, str]:
    """Every document in the package, by relative path: what the schema tests validate."""
    return {
        path.relative_to(GRAPHQL_DIR).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(GRAPHQL_DIR.rglob("*.graphql"))
    }
