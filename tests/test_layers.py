"""Arrows point down: ``web`` -> ``background`` -> ``gateway`` -> ``paycombat``/``saleor``/``storage``.

The background machinery may use the payment flows, never the web layer; the flows never reach up into
the background machinery or the web layer (they would drag its loops and threads into every import)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "paycombat_gateway"
FORBIDDEN = {
    "background": {"paycombat_gateway.web"},
    "gateway": {"paycombat_gateway.web", "paycombat_gateway.background"},
    "saleor": {"paycombat_gateway.web", "paycombat_gateway.background", "paycombat_gateway.gateway"},
    "paycombat": {"paycombat_gateway.web", "paycombat_gateway.background", "paycombat_gateway.gateway"},
    "storage": {"paycombat_gateway.web", "paycombat_gateway.background", "paycombat_gateway.gateway"},
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_arrow_points_up(layer: str) -> None:
    upward = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in (PACKAGE / layer).rglob("*.py")
        for name in _imports(path)
        if any(name == above or name.startswith(above + ".") for above in FORBIDDEN[layer])
    }
    assert not upward
