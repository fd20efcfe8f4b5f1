"""``paycombat-gateway manifest``: print the manifest Saleor reads (the same as ``GET /api/manifest``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["register", "render_manifest"]

REPO_APP_URL = (
    "https://paycombat-gateway.example.com"  # the placeholder used for the checked-in manifest.json
)


def render_manifest(app_url: str) -> str:
    from paycombat_gateway.saleor.manifest import build_manifest

    return json.dumps(build_manifest(app_url), indent=2, ensure_ascii=False) + "\n"


def _manifest(args: argparse.Namespace) -> int:
    from paycombat_gateway.settings import Settings, SettingsError, base_url, writable_file

    # both checked before anything is written: one line naming the flag (cli.main), exit 2
    app_url = base_url("--app-url", args.app_url) if args.app_url else Settings.from_env().app_url
    output = writable_file("--output", Path(args.output)) if args.output else None
    text = render_manifest(app_url)
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SettingsError(f"--output {output} cannot be written: {exc.strerror}") from None
    else:
        print(text, end="")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("manifest", help="print the Saleor app manifest")
    parser.add_argument("--app-url", help="public base URL of the app (default: APP_URL)")
    parser.add_argument("--output", "-o", help="write to this file (default: standard output)")
    parser.set_defaults(handler=_manifest)
