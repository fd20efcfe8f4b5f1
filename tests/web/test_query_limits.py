"""Attack: a Dashboard token holder sends GraphQL documents built to stall the event loop."""

from __future__ import annotations

from typing import Any

import pytest

from paycombat_gateway.storage import configs
from paycombat_gateway.web.config_api.schema import QUERY_LIMITS
from tests.support.stack import Stack

ALIAS_BOMB = "{ " + " ".join(f"a{n}: configurations {{ id name channels }}" for n in range(3000)) + " }"
FEW_TOKENS_MANY_ALIASES = "{ " + " ".join(f"a{n}: configurations {{ id }}" for n in range(100)) + " }"
TOKEN_BOMB = "{ configurations { " + "id " * 5000 + "} }"
DEPTH_BOMB = '{ __type(name: "Query") { ' + "fields { type { " * 10 + "name" + " } }" * 10 + " } }"


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        (ALIAS_BOMB, "token"),
        (FEW_TOKENS_MANY_ALIASES, "aliases"),
        (TOKEN_BOMB, "token"),
        (DEPTH_BOMB, "depth"),
    ],
)
def test_a_bomb_is_refused_before_any_resolver_runs(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, query: str, limit: str
) -> None:
    reads: list[int] = []
    list_configs = configs.list_configs

    def counting(session: Any, installation_id: int) -> Any:
        reads.append(installation_id)
        return list_configs(session, installation_id)

    monkeypatch.setattr(configs, "list_configs", counting)
    body = stack.graphql(query)
    assert body.get("data") is None
    assert limit in body["errors"][0]["message"]
    assert reads == []  # refused before any resolver ran
    assert "errors" not in stack.graphql("{ configurations { id } }") and len(reads) == 1


def test_the_pages_documents_stay_inside_the_limits(stack: Stack) -> None:
    aliased = "{ " + " ".join(f"a{n}: configurations {{ id }}" for n in range(QUERY_LIMITS["aliases"])) + " }"
    body = stack.graphql(aliased)
    assert "errors" not in body and len(body["data"]) == QUERY_LIMITS["aliases"]
