"""The configuration API tells payments settled by reconciliation from those a webhook settled."""

from __future__ import annotations

from tests.e2e.test_reconciliation import start_checkouts
from tests.support.stack import ACCOUNT, Stack
from tests.web.test_config_api import _data


def test_recent_transactions_say_who_settled_them(stack: Stack) -> None:
    (_, by_webhook), (_, by_reconciliation), (_, still_open) = start_checkouts(stack, 3)
    stack.sandbox.settle(by_webhook, "success")
    assert stack.sandbox.wait_for_webhooks()
    stack.sandbox.drop_webhooks(account=ACCOUNT.name)
    stack.sandbox.settle(by_reconciliation, "success")
    findings = list(stack.app.state.reconciler.run_pass())
    assert {finding.checkout_id for finding in findings} == {by_reconciliation, still_open}

    listed = _data(stack, "{ recentTransactions { checkoutId state settledBy } }")["recentTransactions"]

    assert {t["checkoutId"]: (t["state"], t["settledBy"]) for t in listed} == {
        by_webhook: ("succeeded", "webhook"),
        by_reconciliation: ("succeeded", "reconciliation"),
        still_open: ("action_required", None),
    }
