"""The app manifest Saleor reads at install time (contract §1)."""

from __future__ import annotations

from typing import Any

from paycombat_gateway import __version__
from paycombat_gateway.saleor.webhooks import WEBHOOKS

__all__ = ["APP_ID", "build_manifest"]

APP_ID = "app.paycombat.gateway"  # stable: it becomes the payment gateway id storefronts send
HOMEPAGE_URL = "https://github.com/paycombat/paycombat-gateway"


def build_manifest(app_url: str, *, version: str = __version__) -> dict[str, Any]:
    base = app_url.rstrip("/")
    return {
        "id": APP_ID,
        "version": version,
        "name": "PayCombat",
        "about": "Accept payments through PayCombat's hosted checkout: cards, bank transfers, e-wallets and "
        "KRW virtual accounts.",
        "author": "paycombat-gateway",
        "permissions": ["HANDLE_PAYMENTS"],
        "appUrl": f"{base}/dashboard",
        "tokenTargetUrl": f"{base}/api/register",
        "requiredSaleorVersion": ">=3.21 <4",
        "brand": {"logo": {"default": f"{base}/static/logo.png"}},
        "homepageUrl": HOMEPAGE_URL,
        "supportUrl": f"{HOMEPAGE_URL}/issues",
        "dataPrivacyUrl": f"{HOMEPAGE_URL}/blob/main/docs/privacy.md",
        "extensions": [],
        "webhooks": [webhook.manifest_entry(base) for webhook in WEBHOOKS],
    }
