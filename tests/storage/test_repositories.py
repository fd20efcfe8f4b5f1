"""Repositories on SQLite and PostgreSQL, including races between instances."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from paycombat_gateway.storage import configs, inbox, installations, outbox, sessions
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.models import OutboxReport, PaycombatDelivery, PaymentSession, utcnow
from paycombat_gateway.storage.secrets import SecretBox

API_URL = "https://shop.example.com/graphql/"


def _setup(database: Database, box: SecretBox) -> tuple[int, str]:
    with database.session() as session:
        installation = installations.upsert_installation(
            session, box, saleor_api_url=API_URL, app_id="QXBwOjE=", token="saleor-app-token", jwks="{}"
        )
        config = configs.create_config(
            session,
            box,
            installation_id=installation.id,
            name="Main",
            x_token="snd_xtoken_abcdefgh_9876",
            signature_key="snd_sigkey_abcdefgh_5432",
        )
        configs.map_channels(session, installation.id, config.id, ["default-channel"])
        return installation.id, config.id


def _session_fields(config_id: str, reference: str = "SALEOR-1") -> dict[str, Any]:
    return {
        "config_id": config_id,
        "saleor_transaction_id": "VHJhbnNhY3Rpb25JdGVtOjE=",
        "merchant_reference": reference,
        "source_type": "Checkout",
        "source_id": "Q2hlY2tvdXQ6MQ==",
        "channel_slug": "default-channel",
        "currency": "USD",
        "amount": Decimal("49.99"),
        "action_type": "CHARGE",
    }


def _race(count: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_installation_upsert_replaces_token_and_app_id(database: Database, box: SecretBox) -> None:
    _setup(database, box)
    with database.session() as session:
        installations.upsert_installation(
            session, box, saleor_api_url=API_URL, app_id="QXBwOjI=", token="new-token-value", jwks=None
        )
    with database.session() as session:
        rows = installations.list_installations(session)
        assert len(rows) == 1
        assert rows[0].app_id == "QXBwOjI="
        assert box.decrypt(rows[0].token_encrypted) == "new-token-value"
        assert "new-token" not in repr(rows[0])


def test_config_secrets_are_encrypted_with_hints(database: Database, box: SecretBox) -> None:
    installation_id, config_id = _setup(database, box)
    with database.session() as session:
        config = configs.get_config(session, config_id)
        assert config is not None
        assert "snd_xtoken" not in config.x_token_encrypted
        assert (config.x_token_hint, config.signature_key_hint) == ("9876", "5432")
        creds = configs.credentials(box, config)
        assert creds.x_token == "snd_xtoken_abcdefgh_9876"
        assert "snd_" not in repr(creds)
        found = configs.config_for_channel(session, installation_id, "default-channel")
        assert found is not None and found.id == config_id
        assert configs.config_for_channel(session, installation_id, "other") is None
        configs.update_config(
            session, box, config, x_token="", signature_key="snd_new_key_value_0000", name="Renamed"
        )
    with database.session() as session:
        config = configs.get_config(session, config_id)
        assert config is not None and config.name == "Renamed"
        assert configs.credentials(box, config).x_token == "snd_xtoken_abcdefgh_9876"
        assert configs.credentials(box, config).signature_key == "snd_new_key_value_0000"


def test_one_claim_wins_per_idempotency_key(database: Database, box: SecretBox) -> None:
    """Racing claims share the key AND the merchant reference; neither collision may escape as an error.

    Several rounds: on PostgreSQL the loser of a round sometimes reaches the reference's unique index
    first, which a single round rarely shows.
    """
    installation_id, config_id = _setup(database, box)
    rounds, racers = 12, 8

    for round_number in range(rounds):

        def claim(
            index: int, key: str = f"key-{round_number}", reference: str = f"SALEOR-{round_number}"
        ) -> bool:
            return sessions.claim_payment_session(
                database,
                installation_id=installation_id,
                idempotency_key=key,
                **_session_fields(config_id, reference=reference),
            ).must_create

        results = _race(racers, claim)
        assert results.count(True) == 1
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(PaymentSession)) == rounds


def test_a_reference_held_by_another_key_is_a_clear_error(database: Database, box: SecretBox) -> None:
    installation_id, config_id = _setup(database, box)
    sessions.claim_payment_session(
        database, installation_id=installation_id, idempotency_key="first", **_session_fields(config_id)
    )
    with pytest.raises(RuntimeError, match="merchant reference 'SALEOR-1'"):
        sessions.claim_payment_session(
            database, installation_id=installation_id, idempotency_key="second", **_session_fields(config_id)
        )
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(PaymentSession)) == 1


def test_failed_claim_can_be_taken_over_once(database: Database, box: SecretBox) -> None:
    installation_id, config_id = _setup(database, box)
    first = sessions.claim_payment_session(
        database, installation_id=installation_id, idempotency_key="k", **_session_fields(config_id)
    )
    assert first.must_create
    with database.session() as session:
        row = session.get(PaymentSession, first.session_id)
        assert row is not None
        row.last_error = "PayCombat timed out"
    again = sessions.claim_payment_session(
        database, installation_id=installation_id, idempotency_key="k", **_session_fields(config_id)
    )
    assert again.must_create and again.session_id == first.session_id
    third = sessions.claim_payment_session(
        database, installation_id=installation_id, idempotency_key="k", **_session_fields(config_id)
    )
    assert not third.must_create


def test_duplicate_deliveries_store_one_row_under_a_race(database: Database, box: SecretBox) -> None:
    _, config_id = _setup(database, box)

    def record(index: int) -> bool:
        with database.session() as session:
            _, duplicate = inbox.record_delivery(
                session,
                config_id=config_id,
                raw_body=b'{"id":"p1"}',
                headers={"content-type": "application/json"},
                signature_valid=True,
                dedupe_key="PAYIN_SUCCESS:p1",
                kind="PAYIN_SUCCESS",
                payin_id="p1",
            )
            return duplicate

    results = _race(4, record)
    assert results.count(False) == 1
    with database.session() as session:
        rows = list(session.scalars(select(PaycombatDelivery)))
        assert len(rows) == 1
        assert rows[0].duplicates == 3
        assert rows[0].raw_body == b'{"id":"p1"}'


def _enqueue_many(database: Database, box: SecretBox, count: int) -> None:
    installation_id, config_id = _setup(database, box)
    claim = sessions.claim_payment_session(
        database, installation_id=installation_id, idempotency_key="k", **_session_fields(config_id)
    )
    with database.session() as session:
        for index in range(count):
            _, created = outbox.enqueue_report(
                session,
                installation_id=installation_id,
                payment_session_id=claim.session_id,
                event_type="CHARGE_SUCCESS",
                psp_reference=f"psp-{index}",
                amount=Decimal("1.00"),
                currency="USD",
                message=None,
            )
            assert created
        _, again = outbox.enqueue_report(
            session,
            installation_id=installation_id,
            payment_session_id=claim.session_id,
            event_type="CHARGE_SUCCESS",
            psp_reference="psp-0",
            amount=Decimal("1.00"),
            currency="USD",
            message=None,
        )
        assert not again


def test_workers_claim_disjoint_reports(database: Database, box: SecretBox) -> None:
    _enqueue_many(database, box, 30)

    def claim(index: int) -> list[int]:
        claimed: list[int] = []
        while True:
            with database.session() as session:
                rows = outbox.claim_due_reports(session, f"worker-{index}", limit=3)
                ids = [row.id for row in rows]
            if not ids:
                return claimed
            claimed.extend(ids)

    results = _race(3, claim)
    every = [report_id for claimed in results for report_id in claimed]
    assert len(every) == 30
    assert len(set(every)) == 30


def test_lease_expiry_lets_another_worker_reclaim(database: Database, box: SecretBox) -> None:
    _enqueue_many(database, box, 1)
    with database.session() as session:
        first = outbox.claim_due_reports(session, "crashed", lease_seconds=60)
        assert len(first) == 1
    with database.session() as session:
        assert outbox.claim_due_reports(session, "other") == []
    with database.session() as session:
        later = outbox.claim_due_reports(session, "other", now=utcnow() + timedelta(seconds=61))
        assert [row.id for row in later] == [first[0].id]
        assert not outbox.mark_delivered(session, first[0].id, "crashed")
        assert outbox.mark_delivered(session, first[0].id, "other")


def test_retry_backoff_and_operator_retry(database: Database, box: SecretBox) -> None:
    _enqueue_many(database, box, 1)
    with database.session() as session:
        (row,) = outbox.claim_due_reports(session, "w")
        assert outbox.mark_retry(session, row.id, "w", "Saleor unavailable")
    with database.session() as session:
        assert outbox.claim_due_reports(session, "w") == []
        stored = session.get(OutboxReport, row.id)
        assert stored is not None and stored.attempts == 1 and stored.state == "pending"
        assert stored.next_attempt_at > utcnow()
    with database.session() as session:
        (again,) = outbox.claim_due_reports(session, "w", now=utcnow() + timedelta(seconds=10))
        assert outbox.mark_failed(session, again.id, "w", "INCORRECT_DETAILS")
    with database.session() as session:
        assert outbox.claim_due_reports(session, "w", now=utcnow() + timedelta(days=1)) == []
        assert outbox.retry_report(session, row.id) is not None
    with database.session() as session:
        (retried,) = outbox.claim_due_reports(session, "w")
        assert retried.id == row.id


def test_backoff_is_capped() -> None:
    assert outbox.backoff_delay(1) <= timedelta(seconds=2.4)
    assert outbox.backoff_delay(50) <= timedelta(seconds=720)


def test_a_payments_report_waits_behind_its_earlier_one(database: Database, box: SecretBox) -> None:
    """One payment's reports reach Saleor in their order: a later report is not claimed while an
    earlier one waits for its retry, and a report given back behind a retried one is never due before
    it, with no attempt counted."""
    _enqueue_many(database, box, 2)
    with database.session() as session:
        (first,) = outbox.claim_due_reports(session, "a", limit=1)
        (mine,) = outbox.claim_due_reports(session, "a")
        assert mine.id != first.id
        assert outbox.mark_retry(session, first.id, "a", "Saleor unavailable")
        assert outbox.give_back(session, [mine.id], "a", behind=first.id) == 1
    with database.session() as session:
        retried, later = session.get(OutboxReport, first.id), session.get(OutboxReport, mine.id)
        assert retried is not None and later is not None
        assert later.attempts == 0 and later.claimed_by is None
        assert later.next_attempt_at >= retried.next_attempt_at > utcnow()
        later.next_attempt_at = utcnow() - timedelta(seconds=1)
    with database.session() as session:
        assert outbox.claim_due_reports(session, "b") == []  # due, but its earlier report is not yet
        both = outbox.claim_due_reports(session, "b", now=utcnow() + timedelta(minutes=11))
        assert sorted(row.id for row in both) == [first.id, mine.id]  # the worker sends them by id


def test_a_lease_is_renewed_as_delivery_starts_and_only_by_its_holder(
    database: Database, box: SecretBox
) -> None:
    """A report that waited in its Saleor's lane past its claim's lease gets a fresh one as its
    delivery starts, so no other instance takes it and sends it again; a lease another worker took
    over is not renewed (the report is not sent twice)."""
    _enqueue_many(database, box, 2)
    with database.session() as session:
        first, second = outbox.claim_due_reports(session, "waiting", lease_seconds=120)
        for row in (first, second):  # as if claimed 200 s ago: they waited past their lease
            row.claimed_until = utcnow() - timedelta(seconds=80)
    with database.session() as session:
        assert outbox.renew_lease(session, first.id, "waiting", lease_seconds=45)
        assert not outbox.renew_lease(session, first.id, "other", lease_seconds=45)
    with database.session() as session:
        renewed = session.get(OutboxReport, first.id)
        assert renewed is not None and renewed.claimed_until > utcnow() + timedelta(seconds=30)
        taken = outbox.claim_due_reports(session, "other")  # the lapsed one only
        assert [row.id for row in taken] == [second.id]
    with database.session() as session:
        assert not outbox.renew_lease(session, second.id, "waiting", lease_seconds=45)
