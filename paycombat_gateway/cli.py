"""The ``paycombat-gateway`` command line.

Each sub-command lives in its own module under ``paycombat_gateway.commands`` and registers itself
with a ``register(subparsers)`` function, so adding a command never means editing this file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from paycombat_gateway import __version__, commands
from paycombat_gateway.settings import SettingsError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paycombat-gateway",
        description="PayCombat payment gateway for Saleor: the app, a local PayCombat sandbox and tools.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except SettingsError as exc:  # every command reads the environment: one clear line, no traceback
        print(f"paycombat-gateway: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
