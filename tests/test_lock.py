"""What gets installed is what was tested: requirements/*.txt (scripts/lock) name every version exactly,
the runtime lock is the dev lock's runtime part at the same versions, this .venv holds exactly the dev
lock (scripts/setup installs it), and pyproject.toml declares every library the code imports."""

from __future__ import annotations

import ast
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
DEV_TOOLS = {"pytest", "pytest-timeout", "vcrpy", "mypy", "ruff", "playwright", "uv", "types-requests"}
# a venv's own installers and the project itself, which the lock does not name
NOT_LOCKED = {"pip", "setuptools", "wheel", "paycombat-gateway"}


@dataclass(frozen=True)
class Locked:
    version: str
    hashes: frozenset[str]
    applies_here: bool  # its environment marker holds on this interpreter


def read_lock(name: str) -> dict[str, Locked]:
    """requirements/<name>.txt as {canonical name: what it pins}; every entry must be name==version
    with at least one hash."""
    text = (ROOT / "requirements" / f"{name}.txt").read_text(encoding="utf-8").replace("\\\n", " ")
    locked: dict[str, Locked] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, *options = line.split(" --hash=")
        requirement = Requirement(spec.strip())
        (pin,) = requirement.specifier
        assert pin.operator == "==", f"{requirement.name} is not pinned exactly in {name}.txt"
        assert options, f"{requirement.name} has no hash in {name}.txt"
        locked[canonicalize_name(requirement.name)] = Locked(
            pin.version,
            frozenset(option.strip() for option in options),
            requirement.marker is None or requirement.marker.evaluate(dict(default_environment())),
        )
    return locked


def test_every_version_is_exact_and_hashed() -> None:
    assert len(read_lock("dev")) > len(read_lock("runtime")) > 10


def test_the_runtime_lock_is_the_dev_lock_without_the_tools() -> None:
    dev, runtime = read_lock("dev"), read_lock("runtime")
    differing = {name: pin.version for name, pin in runtime.items() if dev.get(name) != pin}
    assert differing == {}, "runtime.txt must pin what dev.txt pins (same version, same hashes)"
    assert set(dev) >= DEV_TOOLS
    assert DEV_TOOLS.isdisjoint(runtime), "scripts/run must install no development tool"


def _declared(requirements: list[str]) -> list[Requirement]:
    return [Requirement(text) for text in requirements]


@pytest.mark.parametrize("lock", ["runtime", "dev"])
def test_the_lock_satisfies_pyproject(lock: str) -> None:
    """A dependency changed in pyproject.toml without scripts/lock shows up here."""
    locked = read_lock(lock)
    wanted = _declared(PYPROJECT["dependencies"])
    if lock == "dev":
        wanted += _declared(PYPROJECT["optional-dependencies"]["dev"])
    unsatisfied = [
        str(requirement)
        for requirement in wanted
        if canonicalize_name(requirement.name) not in locked
        or not requirement.specifier.contains(locked[canonicalize_name(requirement.name)].version)
    ]
    assert unsatisfied == [], "run scripts/lock after changing pyproject.toml"


def test_every_dependency_has_an_upper_bound() -> None:
    for text in PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["dev"]:
        specifier = Requirement(text).specifier
        assert any(spec.operator in {"<", "=="} for spec in specifier), f"{text} has no upper bound"


def test_this_venv_holds_exactly_the_dev_lock() -> None:
    """What scripts/setup installed is the lock, nothing older, newer or extra."""
    installed = {
        canonicalize_name(dist.metadata["Name"]): dist.version
        for dist in metadata.distributions(path=[path for path in sys.path if path.startswith(sys.prefix)])
    }
    expected = {name: pin.version for name, pin in read_lock("dev").items() if pin.applies_here}
    present = {name: version for name, version in installed.items() if name not in NOT_LOCKED}
    assert present == expected, "the .venv is not the lock: run scripts/setup"


def _third_party_imports(folder: Path) -> set[str]:
    stdlib = set(sys.stdlib_module_names)
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {
        name
        for name in names
        if name not in stdlib and name not in {"paycombat_gateway", "tests", "benchmarks"}
    }


@pytest.mark.parametrize(
    ("folders", "extras"),
    [(["paycombat_gateway"], []), (["tests", "benchmarks"], ["dev"])],
    ids=["the app declares its imports", "the tests declare theirs"],
)
def test_every_imported_library_is_declared(folders: list[str], extras: list[str]) -> None:
    """Nothing the code imports arrives only as another library's dependency (yarl, anyio, graphql-core)."""
    declared = {canonicalize_name(requirement.name) for requirement in _declared(PYPROJECT["dependencies"])}
    for extra in extras:
        declared |= {canonicalize_name(r.name) for r in _declared(PYPROJECT["optional-dependencies"][extra])}
    providers = metadata.packages_distributions()
    undeclared = {
        module: providers.get(module)
        for folder in folders
        for module in _third_party_imports(ROOT / folder)
        if not {canonicalize_name(dist) for dist in providers.get(module, [])} & declared
    }
    assert undeclared == {}
