"""Retention and uninstall at the storage level, on SQLite and PostgreSQL: shoppers' details and keys go,
the bookkeeping (amounts, references, states) stays."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from paycombat_gateway.storage import configs, inbox, installations, outbox
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.models import (
    ChannelMapping,
    Installation,
    OutboxReport,
    PaycombatConfig,
    PaycombatDelivery,
    PaymentSession,
    utcnow,
)
from paycombat_gateway.storage.retention import purge_all_expired, purge_expired, retention_cutoff
from paycombat_gateway.storage.secrets import SecretBox
from paycombat_gateway.storage.uninstall import UNINSTALLED_NOTE, uninstall
from tests.storage.test_repositories import API_URL, _session_fields, _setup

SHOPPER = b'{"payer":{"name":"Jane Shopper","email":"jane@example.com","phone":"+82-10-1234-5678"}}'
ACCOUNT = {"bank_name": "Shinhan", "account_number": "110-123-456789", "account_holder": "Jane Shopper",
           "expires_at": "2026-12-08T00:00:00Z"}  # fmt: skip


def _payment(database: Database, config_id: str, reference: str, state: str, age: timedelta) -> int:
    with database.session() as session:
        row = PaymentSession(
            **_session_fields(config_id, reference), installation_id=1, idempotency_key=reference,
            state=state, checkout_id=f"chk-{reference}", checkout_token="tok-secret-link",
            checkout_url=f"https://pay.example/c/{reference}", virtual_account=dict(ACCOUNT),
            paid_amount=Decimal("49.99"), payin_id=f"payin-{reference}", last_error="customer_email rejected",
            created_at=utcnow() - age, updated_at=utcnow() - age,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def _delivery(database: Database, config_id: str, key: str, age: timedelta, payment_id: int | None) -> int:
    with database.session() as session:
        delivery_id, _ = inbox.record_delivery(
            session, config_id=config_id, raw_body=SHOPPER, headers={"x-signature": "abc"},
            signature_valid=True, dedupe_key=key, kind="PAYIN_SUCCESS", payin_id=f"payin-{key}",
            match_state="matched", payment_session_id=payment_id,
        )  # fmt: skip
        assert delivery_id is not None
        session.get(PaycombatDelivery, delivery_id).received_at = utcnow() - age  # type: ignore[union-attr]
        return delivery_id


def _get(database: Database, model: Any, key: Any) -> Any:
    with database.session(readonly=True) as session:
        row = session.get(model, key)
        session.expunge(row)
        return row


def test_retention_empties_old_details_and_keeps_the_books(database: Database, box: SecretBox) -> None:
    installation_id, config_id = _setup(database, box)
    old, recent = timedelta(days=100), timedelta(days=1)
    settled_old = _payment(database, config_id, "OLD", "succeeded", old)
    open_old = _payment(database, config_id, "OPEN", "action_required", old)
    settled_recent = _payment(database, config_id, "NEW", "succeeded", recent)
    old_delivery = _delivery(database, config_id, "k-old", old, settled_old)
    recent_delivery = _delivery(database, config_id, "k-new", recent, settled_recent)
    with database.session() as session:
        outbox.enqueue_report(
            session, installation_id=installation_id, payment_session_id=settled_old, event_type="CHARGE_SUCCESS",
            psp_reference="chk-OLD", amount=Decimal("49.99"), currency="USD", message="paid", delivery_id=old_delivery,
        )  # fmt: skip

    with database.session() as session:
        purged = purge_expired(session, older_than=retention_cutoff(90))
    assert (purged.deliveries, purged.payments) == (1, 1)

    emptied = _get(database, PaycombatDelivery, old_delivery)
    assert emptied.raw_body == b"" and emptied.headers == {} and emptied.purged_at is not None
    assert (emptied.kind, emptied.payin_id, emptied.match_state, emptied.payment_session_id) == (
        "PAYIN_SUCCESS", "payin-k-old", "matched", settled_old,
    )  # fmt: skip
    assert _get(database, PaycombatDelivery, recent_delivery).raw_body == SHOPPER
    payment = _get(database, PaymentSession, settled_old)
    assert payment.virtual_account == {"bank_name": "Shinhan", "expires_at": "2026-12-08T00:00:00Z"}
    assert payment.checkout_url is None and payment.checkout_token is None and payment.last_error is None
    assert (payment.amount, payment.paid_amount, payment.currency, payment.state) == (
        Decimal("49.99"), Decimal("49.99"), "USD", "succeeded",
    )  # fmt: skip
    assert (payment.checkout_id, payment.payin_id, payment.merchant_reference) == (
        "chk-OLD",
        "payin-OLD",
        "OLD",
    )
    for kept in (open_old, settled_recent):  # still open, or not old enough
        row = _get(database, PaymentSession, kept)
        assert row.virtual_account == ACCOUNT and row.checkout_url is not None and row.purged_at is None
    with database.session(readonly=True) as session:
        (report,) = session.scalars(select(OutboxReport)).all()
        assert (report.amount, report.psp_reference, report.delivery_id) == (
            Decimal("49.99"),
            "chk-OLD",
            old_delivery,
        )

    with database.session() as session:  # a second pass finds nothing more
        assert purge_expired(session, older_than=retention_cutoff(90)).total == 0
        # a late redelivery of the emptied one is still recognised as a duplicate
        assert inbox.record_delivery(
            session, config_id=config_id, raw_body=SHOPPER, headers={}, signature_valid=True,
            dedupe_key="k-old", kind="PAYIN_SUCCESS", payin_id="payin-k-old",
        ) == (None, True)  # fmt: skip


def test_zero_days_keeps_no_settled_details_past_a_pass(database: Database, box: SecretBox) -> None:
    _, config_id = _setup(database, box)
    settled = _payment(database, config_id, "NOW", "failed", timedelta(0))
    still_open = _payment(database, config_id, "WAIT", "pending", timedelta(0))
    delivery = _delivery(database, config_id, "k-now", timedelta(0), settled)
    purged = purge_all_expired(database, 0)
    assert (purged.deliveries, purged.payments) == (1, 1)
    assert _get(database, PaycombatDelivery, delivery).raw_body == b""
    assert _get(database, PaymentSession, settled).checkout_url is None
    assert _get(database, PaymentSession, still_open).virtual_account == ACCOUNT  # the shopper still needs it


def test_uninstall_wipes_keys_parks_reports_and_a_reinstall_starts_clean(
    database: Database, box: SecretBox
) -> None:
    installation_id, config_id = _setup(database, box)
    paid = _payment(database, config_id, "PAID", "succeeded", timedelta(0))
    waiting = _payment(database, config_id, "WAIT", "action_required", timedelta(0))
    with database.session() as session:
        outbox.enqueue_report(
            session, installation_id=installation_id, payment_session_id=paid, event_type="CHARGE_SUCCESS",
            psp_reference="chk-PAID", amount=Decimal("49.99"), currency="USD", message=None,
        )  # fmt: skip
    with database.session() as session:  # a notice about another app of this Saleor changes nothing
        assert uninstall(session, API_URL, app_id="QXBwOjk5") is None
    assert _get(database, Installation, installation_id).token_encrypted != ""

    with database.session() as session:
        removed = uninstall(session, API_URL, app_id="QXBwOjE=")
    assert removed is not None
    assert removed.token_wiped and removed.configs_disabled == [f"Main ({config_id})"]
    assert (removed.channels_unmapped, removed.reports_parked, removed.payments_stopped) == (
        ["default-channel"],
        1,
        1,
    )
    installation = _get(database, Installation, installation_id)
    assert installation.token_encrypted == "" and installation.jwks is None and installation.uninstalled_at
    config = _get(database, PaycombatConfig, config_id)
    assert (config.x_token_encrypted, config.signature_key_encrypted, config.x_token_hint) == ("", "", "")
    assert config.disabled_at is not None
    with database.session(readonly=True) as session:
        assert session.scalars(select(ChannelMapping)).all() == []
        assert (
            configs.get_config(session, config_id) is None
            and configs.list_configs(session, installation_id) == []
        )
        (report,) = session.scalars(select(OutboxReport)).all()
        assert (report.state, report.last_error) == ("failed", UNINSTALLED_NOTE)
        assert session.get(PaymentSession, waiting).reconcile_stopped_at is not None  # type: ignore[union-attr]
        assert session.get(PaymentSession, paid).amount == Decimal("49.99")  # type: ignore[union-attr]
    with database.session() as session:  # again: nothing more to remove
        again = uninstall(session, API_URL)
        assert again is not None and not again.token_wiped and again.configs_disabled == []

    with database.session() as session:  # the reinstall: in use again, no configuration, the name free
        installations.upsert_installation(
            session, box, saleor_api_url=API_URL, app_id="QXBwOjI=", token="new-token", jwks="{}"
        )
        fresh = configs.create_config(
            session,
            box,
            installation_id=installation_id,
            name="Main",
            x_token="snd_new_token_1",
            signature_key="snd_new_key_22",
        )
        assert [c.id for c in configs.list_configs(session, installation_id)] == [fresh.id]
    assert _get(database, Installation, installation_id).uninstalled_at is None


def test_removing_a_configuration_deletes_it_or_disables_it_for_its_payments(
    database: Database, box: SecretBox
) -> None:
    installation_id, config_id = _setup(database, box)
    waiting = _payment(database, config_id, "WAIT", "action_required", timedelta(0))
    with database.session() as session:
        unused = configs.create_config(
            session,
            box,
            installation_id=installation_id,
            name="Unused",
            x_token="snd_unused_1",
            signature_key="snd_unused_2",
        )
        configs.map_channels(session, installation_id, unused.id, ["poland"])
        assert configs.remove_config(session, unused) == ("deleted", ["poland"])
        config = session.get(PaycombatConfig, config_id)
        assert config is not None
        open_payment = session.get(PaymentSession, waiting)
        assert open_payment is not None
        open_payment.virtual_account = {**ACCOUNT, "expires_at": "2099-01-01T00:00:00Z"}
        with pytest.raises(configs.OpenPaymentsBlockRemoval):  # the shopper can still pay into it
            configs.remove_config(session, config)
        assert config.disabled_at is None
        open_payment.virtual_account = {**ACCOUNT, "expires_at": "2020-01-01T00:00:00Z"}
        assert configs.remove_config(session, config) == ("disabled", ["default-channel"])
    with database.session(readonly=True) as session:
        assert session.get(PaycombatConfig, unused.id) is None
        kept = session.get(PaycombatConfig, config_id)
        assert kept is not None and kept.disabled_at is not None and kept.x_token_encrypted == ""
        payment = session.get(PaymentSession, waiting)
        assert payment is not None and payment.reconcile_stopped_at is not None  # no keys to look it up with
        assert payment.amount == Decimal("49.99")
