"""The settlement rules: exactly one charge per payment, with PayCombat's amount, never undone late."""

from __future__ import annotations

from decimal import Decimal

import pytest

from paycombat_gateway.gateway.settlement import (
    PayinNotice,
    SessionState,
    SessionView,
    apply_notice,
    available_actions,
)
from paycombat_gateway.paycombat.contract import WebhookKind

CHECKOUT = "9b1c-checkout"


def _session(state: SessionState = SessionState.ACTION_REQUIRED, **kwargs: object) -> SessionView:
    values: dict[str, object] = {
        "state": state,
        "checkout_id": CHECKOUT,
        "requested_amount": Decimal("49.99"),
        "currency": "USD",
    }
    values.update(kwargs)
    return SessionView(**values)  # type: ignore[arg-type]


def _notice(
    kind: WebhookKind, amount: str | None = "49.99", payin: str = "payin-1", currency: str = "USD"
) -> PayinNotice:
    return PayinNotice(
        kind=kind,
        payin_id=payin,
        amount=None if amount is None else Decimal(amount),
        currency=currency,
        payment_method="card",
    )


def test_success_reports_charge_success_under_the_checkout_id() -> None:
    transition = apply_notice(_session(), _notice(WebhookKind.PAYIN_SUCCESS))
    assert transition.state is SessionState.SUCCEEDED
    assert transition.report is not None
    assert transition.report.event_type == "CHARGE_SUCCESS"
    assert transition.report.psp_reference == CHECKOUT
    assert transition.report.amount == Decimal("49.99")
    assert transition.report.available_actions == ("REFUND",)  # charged money can be refunded
    assert not transition.amount_mismatch


def test_success_is_idempotent() -> None:
    paid = _session(SessionState.SUCCEEDED, payin_id="payin-1", paid_amount=Decimal("49.99"))
    transition = apply_notice(paid, _notice(WebhookKind.PAYIN_SUCCESS))
    assert transition.report is None
    assert transition.state is SessionState.SUCCEEDED


def test_late_expired_never_undoes_a_success() -> None:
    paid = _session(SessionState.SUCCEEDED, payin_id="payin-1", paid_amount=Decimal("49.99"))
    for kind in (WebhookKind.PAYIN_EXPIRED, WebhookKind.PAYIN_FAILED, WebhookKind.PAYIN_PENDING):
        transition = apply_notice(paid, _notice(kind))
        assert transition.report is None
        assert transition.state is SessionState.SUCCEEDED


def test_success_after_expired_still_charges() -> None:
    expired = apply_notice(_session(), _notice(WebhookKind.PAYIN_EXPIRED, amount=None))
    assert expired.state is SessionState.EXPIRED
    assert expired.report is not None and expired.report.event_type == "CHARGE_FAILURE"
    later = apply_notice(_session(SessionState.EXPIRED), _notice(WebhookKind.PAYIN_SUCCESS))
    assert later.state is SessionState.SUCCEEDED
    assert later.report is not None and later.report.event_type == "CHARGE_SUCCESS"


def test_amount_mismatch_reports_paycombats_amount_and_flags_it() -> None:
    transition = apply_notice(_session(), _notice(WebhookKind.PAYIN_SUCCESS, amount="40.00"))
    assert transition.report is not None
    assert transition.report.amount == Decimal("40.00")
    assert transition.amount_mismatch
    assert "requested 49.99, paid 40.00" in transition.report.message


def test_second_payin_on_a_paid_checkout_is_a_separate_charge() -> None:
    paid = _session(SessionState.SUCCEEDED, payin_id="payin-1", paid_amount=Decimal("49.99"))
    transition = apply_notice(paid, _notice(WebhookKind.PAYIN_SUCCESS, payin="payin-2"))
    assert transition.report is not None
    assert transition.report.psp_reference == "payin-2"
    assert transition.amount_mismatch


def test_foreign_currency_payin_is_held_not_reported() -> None:
    transition = apply_notice(_session(), _notice(WebhookKind.PAYIN_SUCCESS, currency="EUR"))
    assert transition.report is None
    assert transition.state is SessionState.ACTION_REQUIRED
    assert "held for review" in transition.note


@pytest.mark.parametrize(
    ("amount", "currency", "why"),
    [
        ("-100", "USD", "not more than zero"),
        ("0", "USD", "not more than zero"),
        ("-0.0", "USD", "not more than zero"),
        (None, "USD", "states no amount"),
        ("NaN", "USD", "not a finite number"),
        ("Infinity", "USD", "not a finite number"),
        ("49.999", "USD", "cannot be kept exactly"),
        ("1e309", "USD", "cannot be kept exactly"),
        ("49.99", None, "names no currency"),
        ("49.99", "EUR", "not the checkout's USD"),
    ],
)
def test_a_success_that_proves_no_payment_holds_it_and_reports_nothing(
    amount: str | None, currency: str | None, why: str
) -> None:
    notice = PayinNotice(
        kind=WebhookKind.PAYIN_SUCCESS, payin_id="payin-1",
        amount=None if amount is None else Decimal(amount), currency=currency,
    )  # fmt: skip
    transition = apply_notice(_session(), notice)
    assert transition.report is None and transition.state is SessionState.ACTION_REQUIRED
    assert transition.held is not None and why in transition.held
    assert transition.paid_amount is None and transition.payin_id is None
    paid = _session(SessionState.SUCCEEDED, payin_id="payin-0", paid_amount=Decimal("49.99"))
    on_paid = apply_notice(paid, notice)  # never a second charge either, and nothing to hold
    assert on_paid.report is None and on_paid.held is None and why in on_paid.note


def test_a_positive_amount_below_the_total_is_a_partial_charge() -> None:
    transition = apply_notice(_session(), _notice(WebhookKind.PAYIN_SUCCESS, amount="0.01"))
    assert transition.report is not None and transition.report.amount == Decimal("0.01")
    assert transition.held is None and transition.amount_mismatch


def test_duplicate_failure_is_reported_once() -> None:
    first = apply_notice(_session(), _notice(WebhookKind.PAYIN_FAILED))
    assert first.report is not None
    second = apply_notice(_session(SessionState.FAILED), _notice(WebhookKind.PAYIN_FAILED))
    assert second.report is None


def test_pending_reports_charge_request_once() -> None:
    first = apply_notice(_session(), _notice(WebhookKind.PAYIN_PENDING))
    assert first.state is SessionState.PENDING
    assert first.report is not None and first.report.event_type == "CHARGE_REQUEST"
    assert apply_notice(_session(SessionState.PENDING), _notice(WebhookKind.PAYIN_PENDING)).report is None


def test_non_payin_kinds_change_nothing() -> None:
    for kind in (WebhookKind.PAYOUT, WebhookKind.UNKNOWN, WebhookKind.VA_REGISTER):
        transition = apply_notice(_session(), _notice(kind))
        assert transition.report is None
        assert transition.state is SessionState.ACTION_REQUIRED


def test_a_success_after_a_first_success_without_payin_id_is_not_a_second_payment() -> None:
    paid_without_id = _session(SessionState.SUCCEEDED, payin_id=None, paid_amount=Decimal("49.99"))
    again = apply_notice(paid_without_id, _notice(WebhookKind.PAYIN_SUCCESS, payin="payin-1"))
    assert again.report is None and again.note == "success already recorded"
    second = apply_notice(
        _session(SessionState.SUCCEEDED, payin_id="payin-1", paid_amount=Decimal("49.99")),
        _notice(WebhookKind.PAYIN_SUCCESS, payin="payin-2"),
    )
    assert second.report is not None and second.report.event_type == "CHARGE_SUCCESS"


@pytest.mark.parametrize(
    ("state", "left", "expected"),
    [
        (SessionState.ACTION_REQUIRED, Decimal(0), ("CANCEL",)),
        (SessionState.PENDING, Decimal(0), ("CANCEL",)),
        (SessionState.SUCCEEDED, Decimal("0.01"), ("REFUND",)),
        (SessionState.SUCCEEDED, Decimal(0), ()),
        (SessionState.FAILED, Decimal(0), ()),
        (SessionState.EXPIRED, Decimal(0), ()),
        (SessionState.CANCELLED, Decimal(0), ()),
    ],
)
def test_the_buttons_each_state_offers(state: SessionState, left: Decimal, expected: tuple[str, ...]) -> None:
    assert available_actions(state, left) == expected


def test_a_failure_takes_the_cancel_button_away() -> None:
    open_checkout = SessionView(SessionState.ACTION_REQUIRED, CHECKOUT, Decimal("49.99"), "USD")
    transition = apply_notice(open_checkout, PayinNotice(WebhookKind.PAYIN_EXPIRED, "p1", None, None))
    assert transition.report is not None and transition.report.available_actions == ()
