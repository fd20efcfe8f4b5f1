"""Every GraphQL document the app declares or sends validates against Saleor 3.21 AND 3.23."""

from __future__ import annotations

import pytest
from graphql import OperationType, parse, validate

from paycombat_gateway.saleor.documents import all_documents
from paycombat_gateway.saleor.manifest import build_manifest
from paycombat_gateway.saleor.webhooks import SYNC_WEBHOOKS
from tests.support.saleor_double import saleor_schema

VERSIONS = ["3.21", "3.23"]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_document_validates(version: str) -> None:
    documents = all_documents()
    assert len(documents) == len(SYNC_WEBHOOKS) + 3  # app id, event report, transaction update
    for path, text in documents.items():
        errors = validate(saleor_schema(version), parse(text))
        assert errors == [], f"{path} on Saleor {version}: {[e.message for e in errors]}"


@pytest.mark.parametrize("version", VERSIONS)
def test_manifest_webhooks_are_valid_subscriptions_with_known_sync_events(version: str) -> None:
    schema = saleor_schema(version)
    sync_enum = schema.get_type("WebhookEventTypeSyncEnum")
    assert sync_enum is not None
    for entry in build_manifest("https://app.example.com")["webhooks"]:
        document = parse(entry["query"])
        assert document.definitions[0].operation is OperationType.SUBSCRIPTION  # type: ignore[attr-defined]
        assert validate(schema, document) == []
        assert set(entry["syncEvents"]) <= set(sync_enum.values)  # type: ignore[attr-defined]
        assert entry["targetUrl"].startswith("https://app.example.com/api/webhooks/saleor/")


def test_the_double_rejects_a_field_saleor_does_not_have() -> None:
    broken = "subscription { event { ... on TransactionInitializeSession { noSuchField } } }"
    for version in VERSIONS:
        assert validate(saleor_schema(version), parse(broken)) != []
