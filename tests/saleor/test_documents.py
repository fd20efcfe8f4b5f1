"""Every GraphQL document the app declares or sends validates against Saleor 3.21 AND 3.23, except the
App Problem ones: valid on 3.23, invalid on 3.21, which is why the app never sends them there."""

from __future__ import annotations

import re

import pytest
from graphql import OperationType, parse, validate

from paycombat_gateway.saleor.documents import APP_PROBLEM_DOCUMENTS, all_documents
from paycombat_gateway.saleor.manifest import build_manifest
from paycombat_gateway.saleor.webhooks import WEBHOOKS
from tests.support.saleor_double import saleor_schema

VERSIONS = ["3.21", "3.23"]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_document_validates(version: str) -> None:
    documents = all_documents()
    # app id, event report, transaction update, channels, transaction order, Saleor's version, 3 App Problems
    assert len(documents) == len(WEBHOOKS) + 9
    assert documents.keys() > APP_PROBLEM_DOCUMENTS
    for path, text in documents.items():
        if version == "3.21" and path in APP_PROBLEM_DOCUMENTS:
            continue
        errors = validate(saleor_schema(version), parse(text))
        assert errors == [], f"{path} on Saleor {version}: {[e.message for e in errors]}"


def test_app_problem_documents_are_invalid_on_3_21() -> None:
    """Saleor 3.21 has no App Problems: these documents would only bring back GraphQL errors there."""
    for path in APP_PROBLEM_DOCUMENTS:
        messages = [error.message for error in validate(saleor_schema("3.21"), parse(all_documents()[path]))]
        assert any("appProblem" in message or "problems" in message for message in messages), (path, messages)


@pytest.mark.parametrize("version", VERSIONS)
def test_manifest_webhooks_are_valid_subscriptions_with_known_events(version: str) -> None:
    schema = saleor_schema(version)
    sync_enum, async_enum = (
        schema.get_type("WebhookEventTypeSyncEnum"),
        schema.get_type("WebhookEventTypeAsyncEnum"),
    )
    assert sync_enum is not None and async_enum is not None
    declared = []
    for entry in build_manifest("https://app.example.com")["webhooks"]:
        document = parse(entry["query"])
        assert document.definitions[0].operation is OperationType.SUBSCRIPTION  # type: ignore[attr-defined]
        assert validate(schema, document) == []
        assert set(entry.get("syncEvents", [])) <= set(sync_enum.values)  # type: ignore[attr-defined]
        assert set(entry.get("asyncEvents", [])) <= set(async_enum.values)  # type: ignore[attr-defined]
        assert len(entry.get("syncEvents", []) + entry.get("asyncEvents", [])) == 1  # one webhook per event
        assert entry["targetUrl"].startswith("https://app.example.com/api/webhooks/saleor/")
        declared += entry.get("asyncEvents", [])
    assert declared == ["APP_DELETED"]  # Saleor rejects a sync event in asyncEvents and vice versa


def test_the_double_rejects_a_field_saleor_does_not_have() -> None:
    broken = "subscription { event { ... on TransactionInitializeSession { noSuchField } } }"
    for version in VERSIONS:
        assert validate(saleor_schema(version), parse(broken)) != []


def _required_permissions(description: str | None) -> set[str]:
    marker = "Requires one of the following permissions:"
    if not description or marker not in description:
        return set()
    return set(re.findall(r"[A-Z][A-Z_]{2,}", description.split(marker, 1)[1].split(".")[0]))


@pytest.mark.parametrize("version", VERSIONS)
def test_operations_need_no_permission_the_manifest_lacks(version: str) -> None:
    """Each query or mutation the app sends is allowed to its token: an app is AUTHENTICATED_APP and
    holds the manifest's permissions. A field needing, say, MANAGE_ORDERS would fail in the real Saleor."""
    schema = saleor_schema(version)
    held = {*build_manifest("https://app.example.com")["permissions"], "AUTHENTICATED_APP"}
    for path, text in all_documents().items():
        if not path.startswith("operations/") or (version == "3.21" and path in APP_PROBLEM_DOCUMENTS):
            continue
        operation = parse(text).definitions[0]
        root = schema.get_root_type(operation.operation)  # type: ignore[attr-defined]
        assert root is not None
        for selection in operation.selection_set.selections:  # type: ignore[attr-defined]
            needed = _required_permissions(root.fields[selection.name.value].description)
            assert not needed or needed & held, f"{path}: {selection.name.value} needs one of {needed}"
