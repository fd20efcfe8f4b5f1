"""App Problems end to end against the Saleor double: on 3.23 each cause shows its problem in the
Dashboard and the problem is dismissed when the cause is gone; on 3.21 nothing is ever sent."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from paycombat_gateway.background import problems as problems_check
from paycombat_gateway.background.problems import ProblemsCheck
from paycombat_gateway.gateway.activity import payment_state
from paycombat_gateway.gateway.problems import (
    CHANNEL_NOT_CONFIGURED,
    KEYS_REFUSED,
    PAYMENTS_HELD,
    REFUNDS_OVERDUE,
    REPORTS_PARKED,
    Situation,
    find_problems,
    offers_app_problems,
)
from paycombat_gateway.gateway.refunds import confirm_refund
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.settings import ProblemsSettings
from paycombat_gateway.storage import outbox
from paycombat_gateway.storage.backlog import read_backlog
from paycombat_gateway.storage.configs import create_config, map_channels, update_config
from paycombat_gateway.storage.installations import get_installation, upsert_installation
from paycombat_gateway.storage.models import (
    OutboxReport,
    PaycombatConfig,
    PaymentSession,
    RefundOwed,
    utcnow,
)
from paycombat_gateway.storage.sessions import held_payments
from tests.support.saleor_double import action_payload, initialize_payload
from tests.support.stack import ACCOUNT, Stack, run_stack


def _check(stack: Stack) -> tuple[list[str], list[str]]:
    """One round of the check; the keys it created and dismissed in the double's Saleor."""
    outcome = ProblemsCheck(stack.ctx).run_once()[stack.saleor.api_url]
    assert outcome is not None and outcome.offered
    return outcome.created, outcome.dismissed


def _config_with_refused_keys(stack: Stack) -> str:
    with stack.ctx.database.session() as session:
        installation = get_installation(session, stack.saleor.api_url)
        assert installation is not None
        config = create_config(
            session, stack.ctx.box, installation_id=installation.id, name="Europe",
            x_token="snd_revoked_xtoken_00000000", signature_key="snd_revoked_sigkey_0000000",
        )  # fmt: skip
        map_channels(session, installation.id, config.id, ["europe"])
        return config.id


def _overdue_refund(stack: Stack) -> str:
    initialize, _ = stack.settled_checkout("success")
    answer = stack.call(
        SyncEvent.TRANSACTION_REFUND_REQUESTED,
        action_payload(stack.saleor, "TransactionRefundRequested", initialize, amount="5.00"),
    )
    with stack.ctx.database.session() as session:  # as if Saleor had asked three days ago
        session.get(RefundOwed, answer["pspReference"]).requested_at = utcnow() - timedelta(days=3)  # type: ignore[union-attr]
    return str(answer["pspReference"])


def _held_payment(stack: Stack) -> bytes:
    """PayCombat says a checkout was paid nothing: held for review, not reported. Returns the proven
    success that settles it later."""
    payload = initialize_payload(stack.saleor)
    target_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, payload)["pspReference"]
    proven = stack.payin_success_for(target_id, "5b0c7e8e-0000-4000-8000-0000000000ab")
    assert stack.deliver_signed(re.sub(r'"amount":[^,}]+', '"amount":0', proven).encode()).status_code == 200
    return proven.encode()


def _shopper_tries_channel(stack: Stack, channel: str) -> None:
    payload = initialize_payload(stack.saleor)
    payload["sourceObject"]["channel"]["slug"] = channel
    answer = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, payload)
    assert answer["result"] == "CHARGE_FAILURE"


def test_each_cause_shows_a_problem_that_is_dismissed_when_it_is_gone(tmp_path: Path) -> None:
    with run_stack(tmp_path, "3.23") as stack:
        assert _check(stack) == ([], [])  # a healthy store: nothing to show
        assert stack.saleor.open_problems() == {}
        refund_id = _overdue_refund(stack)  # its payment is the one PayCombat delivery the held one copies
        proven = _held_payment(stack)
        refused = _config_with_refused_keys(stack)
        parked_checkout = stack.payment_with_a_parked_report()
        _shopper_tries_channel(stack, "poland")
        _shopper_tries_channel(stack, "poland")

        created, dismissed = _check(stack)

        shown = stack.saleor.open_problems()
        expected = {f"{KEYS_REFUSED}:{refused}", REFUNDS_OVERDUE, REPORTS_PARKED, PAYMENTS_HELD,
                    f"{CHANNEL_NOT_CONFIGURED}:poland"}  # fmt: skip
        assert set(created) == set(shown) == expected and dismissed == []
        assert (
            'configuration "Europe" (sandbox). Channels europe cannot take payments.'
            in shown[f"{KEYS_REFUSED}:{refused}"]
        )
        assert shown[REFUNDS_OVERDUE].startswith("1 refund has been owed to shoppers for more than 48 hours.")
        assert shown[REPORTS_PARKED].startswith("1 payment report was refused by Saleor and parked")
        assert shown[PAYMENTS_HELD].startswith("1 payment is held for review: PayCombat said paid")
        assert "channel poland (2 times)" in shown[f"{CHANNEL_NOT_CONFIGURED}:poland"]
        text = " ".join(shown.values())
        for private in (
            "customer@example.com",
            "Lovelace",
            parked_checkout,
            refund_id,
            ACCOUNT.x_token,
            "snd_revoked",
        ):
            assert private not in text

        calls = len(stack.saleor.problem_calls)
        assert _check(stack) == ([], [])  # the same situation: nothing sent again, no count inflated
        assert len(stack.saleor.problem_calls) == calls

        # the causes go, one by one, as the merchant and the operator fix them
        with stack.ctx.database.session() as session:
            config = session.get(PaycombatConfig, refused)
            assert config is not None
            update_config(
                session, stack.ctx.box, config, x_token=ACCOUNT.x_token, signature_key=ACCOUNT.signature_key
            )
            installation = get_installation(session, stack.saleor.api_url)
            assert installation is not None
            map_channels(session, installation.id, stack.config_id, ["poland"])
        confirm_refund(stack.ctx, refund_id, reference="PC-RF-9", decided_by="test")
        with stack.ctx.database.session() as session:
            report = session.query(OutboxReport).filter_by(psp_reference=parked_checkout).one()
            key = (report.payment_session_id, report.event_type, report.psp_reference)
            outbox.retry_report(session, report.id)
        transaction = next(
            t for t, kind, psp in stack.saleor._events if kind == "CHARGE_SUCCESS" and psp == key[2]
        )
        stack.saleor._events[(transaction, "CHARGE_SUCCESS", key[2])] = Decimal("49.99")  # Saleor corrected
        stack.app.state.outbox.notify()
        stack.wait_until(stack.outbox_settled)
        assert stack.deliver_signed(proven).status_code == 200  # PayCombat proves the held payment
        stack.wait_until(stack.outbox_settled)

        created, dismissed = _check(stack)

        assert created == [] and set(dismissed) == expected
        assert stack.saleor.open_problems() == {}


def test_a_changed_figure_replaces_the_problem_and_a_staff_dismissal_is_respected(tmp_path: Path) -> None:
    with run_stack(tmp_path, "3.23") as stack:
        _shopper_tries_channel(stack, "poland")
        assert _check(stack)[0] == [f"{CHANNEL_NOT_CONFIGURED}:poland"]
        _shopper_tries_channel(stack, "poland")

        created, dismissed = _check(stack)  # 2 attempts now: the Dashboard shows the new figure alone
        assert created == dismissed == [f"{CHANNEL_NOT_CONFIGURED}:poland"]
        assert "(2 times)" in stack.saleor.open_problems()[f"{CHANNEL_NOT_CONFIGURED}:poland"]

        stack.saleor.dismiss_as_staff(f"{CHANNEL_NOT_CONFIGURED}:poland")
        assert _check(stack) == ([], [])  # the merchant saw it; the same message is not pushed again
        _shopper_tries_channel(stack, "poland")
        assert _check(stack)[0] == [f"{CHANNEL_NOT_CONFIGURED}:poland"]  # it happened again: shown again


def test_nothing_is_sent_to_a_saleor_without_app_problems(tmp_path: Path) -> None:
    with run_stack(tmp_path, "3.21") as stack:
        stack.payment_with_a_parked_report()
        _config_with_refused_keys(stack)
        _shopper_tries_channel(stack, "poland")
        before = len(stack.saleor.graphql_calls)

        outcome = ProblemsCheck(stack.ctx).run_once()[stack.saleor.api_url]

        assert outcome is not None and not outcome.offered
        asked = [call["query"] for call in stack.saleor.graphql_calls[before:]]
        assert len(asked) == 1 and "shop" in asked[0]  # its version, and nothing more
        assert stack.saleor.problem_calls == [] and stack.saleor.invalid_documents == []


def test_the_running_app_checks_by_itself(tmp_path: Path) -> None:
    with run_stack(tmp_path, "3.23", problems=ProblemsSettings(check_seconds=0.2)) as stack:
        _shopper_tries_channel(stack, "poland")
        stack.wait_until(lambda: f"{CHANNEL_NOT_CONFIGURED}:poland" in stack.saleor.open_problems())


def test_which_saleor_offers_app_problems() -> None:
    assert (
        not offers_app_problems("3.21.69") and not offers_app_problems("3.20") and not offers_app_problems("")
    )
    assert (
        offers_app_problems("3.22.0") and offers_app_problems("3.23.28") and offers_app_problems("4.0.0-a.1")
    )


def test_keys_stay_within_saleors_limit() -> None:
    long_slug = "x" * 250
    problems, _ = find_problems(Situation(unconfigured_channels={long_slug: 1}))
    (problem,) = problems
    assert 3 <= len(problem.key) <= 128 and problem.key.startswith(CHANNEL_NOT_CONFIGURED)
    assert find_problems(Situation(unconfigured_channels={"y" * 250: 1}))[0][0].key != problem.key


def test_an_uninstalled_saleor_is_not_checked(tmp_path: Path) -> None:
    with run_stack(tmp_path, "3.23") as stack:
        _shopper_tries_channel(stack, "poland")
        with stack.ctx.database.session() as session:
            installation = get_installation(session, stack.saleor.api_url)
            assert installation is not None
            installation.uninstalled_at = utcnow()
        before = len(stack.saleor.graphql_calls)

        assert ProblemsCheck(stack.ctx).run_once() == {}
        assert len(stack.saleor.graphql_calls) == before and stack.saleor.problem_calls == []


def test_a_held_payment_that_then_fails_is_no_longer_held(tmp_path: Path) -> None:
    """A hold ends with any final state, not only a proven success: the payment is shown failed, the
    count (metric and App Problem) drops and the problem is dismissed."""
    with run_stack(tmp_path, "3.23") as stack:
        stack.settled_checkout("success")
        target_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))[
            "pspReference"
        ]
        success = stack.payin_success_for(target_id, "5b0c7e8e-0000-4000-8000-0000000000ad")
        assert '"status":"SUCCESS"' in success
        held = re.sub(r'"amount":[^,}]+', '"amount":0', success)
        assert stack.deliver_signed(held.encode()).status_code == 200
        assert _check(stack) == ([PAYMENTS_HELD], [])
        with stack.ctx.database.session(readonly=True) as session:
            assert read_backlog(session, utcnow()).payments_held == 1

        failed = stack.payin_success_for(target_id, "5b0c7e8e-0000-4000-8000-0000000000ae")
        assert (
            stack.deliver_signed(
                failed.replace('"status":"SUCCESS"', '"status":"FAILED"').encode()
            ).status_code
            == 200
        )
        stack.wait_until(stack.outbox_settled)

        with stack.ctx.database.session(readonly=True) as session:
            row = session.query(PaymentSession).filter_by(checkout_id=target_id).one()
            assert row.state == "failed" and row.held_reason is None and row.held_at is None
            assert payment_state(row) == "failed"
            assert read_backlog(session, utcnow()).payments_held == 0
            assert held_payments(session) == []
        assert _check(stack) == ([], [PAYMENTS_HELD])
        assert stack.saleor.open_problems() == {}


def test_one_installation_whose_check_raises_does_not_end_the_round_for_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken_url = "https://broken.example/graphql/"
    real_check = problems_check.check_installation

    async def check(ctx: Any, installation: Any, http: Any) -> Any:
        if installation.saleor_api_url == broken_url:
            raise RuntimeError("unexpected answer quoting sk_live_SECRET_in_the_message")
        return await real_check(ctx, installation, http)

    with run_stack(tmp_path, "3.23") as stack:
        with stack.ctx.database.session() as session:
            upsert_installation(
                session, stack.ctx.box, saleor_api_url=broken_url, app_id="QXBwOjk=", token="tok", jwks=None
            )
        _shopper_tries_channel(stack, "poland")
        monkeypatch.setattr(problems_check, "check_installation", check)

        outcomes = ProblemsCheck(stack.ctx).run_once()

        assert outcomes[broken_url] is None
        healthy = outcomes[stack.saleor.api_url]
        assert healthy is not None and healthy.created == [f"{CHANNEL_NOT_CONFIGURED}:poland"]
        assert f"problems check for {broken_url} failed unexpectedly: RuntimeError" in caplog.text
        assert "sk_live_SECRET" not in caplog.text
