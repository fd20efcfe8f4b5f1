"""Arrows point down: ``web`` -> ``background`` -> ``gateway`` -> ``paycombat``/``saleor``/``storage``.

The background machinery may use the payment flows, never the web layer; the flows never reach up into
the background machinery or the web layer (they would drag its loops and threads into every import).
The client layers (``paycombat``, ``saleor``, ``storage``) know nothing of the app's metrics either: the
app installs its observer at start-up (``paycombat.protocol.observe_calls``). The top-level helper
modules they may use sit below every layer."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "paycombat_gateway"
FORBIDDEN = {
    "background": {"paycombat_gateway.web"},
    "gateway": {"paycombat_gateway.web", "paycombat_gateway.background"},
    "saleor": {"paycombat_gateway.web", "paycombat_gateway.background", "paycombat_gateway.gateway",
               "paycombat_gateway.metrics"},
    "paycombat": {"paycombat_gateway.web", "paycombat_gateway.background", "paycombat_gateway.gateway",
                  "paycombat_gateway.metrics"},
    "storage": {"paycombat_gateway.web", "paycombat_gateway.background", "paycombat_gateway.gateway",
                "paycombat_gateway.metrics"},
}  # fmt: skip
# Top-level modules beside the layers: helpers any layer may use, so none of them reaches up into one.
HELPERS = ["metrics", "money", "observability", "outbound", "peer_shares", "settings", "url_allowlist"]
ABOVE_HELPERS = {"paycombat_gateway.web", "paycombat_gateway.background", "paycombat_gateway.gateway",
                 "paycombat_gateway.commands", "paycombat_gateway.cli"}  # fmt: skip


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


def _upward(path: Path, above: set[str], *, at_import: bool = False) -> set[str]:
    """What ``path`` imports from ``above`` (only its module-level imports when ``at_import``)."""
    names = _module_imports(path) if at_import else _imports(path)
    return {name for name in names if any(name == a or name.startswith(a + ".") for a in above)}


def _module_imports(path: Path) -> set[str]:
    return {
        node.module
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.Import)
        for alias in node.names
    }


@pytest.mark.parametrize("helper", HELPERS)
def test_top_level_helpers_point_down_only(helper: str) -> None:
    assert not _upward(PACKAGE / f"{helper}.py", ABOVE_HELPERS)


def test_the_lower_layers_reach_no_top_level_module_that_imports_them_back() -> None:
    """A lower layer may import a top-level helper only if that helper does not import the layer back
    when loaded: ``paycombat.protocol`` importing ``metrics`` (which imports ``paycombat.errors``) was
    such a cycle."""
    for layer in ("paycombat", "saleor", "storage"):
        for path in (PACKAGE / layer).rglob("*.py"):
            for name in _imports(path):
                top = PACKAGE / f"{name.removeprefix('paycombat_gateway.')}.py"
                if name.startswith("paycombat_gateway.") and name.count(".") == 1 and top.exists():
                    back = _upward(top, {f"paycombat_gateway.{layer}"}, at_import=True)
                    assert not back, f"{path.relative_to(PACKAGE)} imports {name}, which imports {back}"


def test_paycombat_calls_are_observed_once_the_app_installs_its_metrics(tmp_path: Path) -> None:
    from prometheus_client import REGISTRY

    from paycombat_gateway.gateway.context import GatewayContext
    from paycombat_gateway.paycombat import protocol
    from paycombat_gateway.paycombat.calls import get_detail_checkout
    from tests.support.stack import make_settings

    seen: list[str] = []

    @contextmanager
    def watch(name: str) -> Iterator[None]:
        seen.append(name)
        yield

    protocol.observe_calls(watch)
    exchange = protocol.Exchange("x-token", "signature-key", "https://paycombat.test", retries=0)
    call = get_detail_checkout("chk_layers_1")
    steps = exchange.steps(call)
    next(steps)
    steps.close()
    assert seen == [call.name]  # the installed observer wraps every call

    GatewayContext.create(make_settings(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2")).close()
    before = (
        REGISTRY.get_sample_value(
            "paycombat_gateway_paycombat_request_duration_seconds_count",
            {"endpoint": call.name, "outcome": "abandoned"},
        )
        or 0.0
    )
    steps = exchange.steps(call)
    next(steps)
    steps.close()  # the caller stopped waiting
    after = REGISTRY.get_sample_value(
        "paycombat_gateway_paycombat_request_duration_seconds_count",
        {"endpoint": call.name, "outcome": "abandoned"},
    )
    assert after == before + 1  # the app's context installed the metrics' observer
