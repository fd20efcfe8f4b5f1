"""``paycombat-gateway reconcile [--since DURATION] [--dry-run]`` against a running app's database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from paycombat_gateway.cli import main
from paycombat_gateway.commands.reconcile import parse_duration
from paycombat_gateway.storage.models import PaycombatDelivery
from tests.e2e.test_reconciliation import OFF, start_checkouts
from tests.support.stack import ACCOUNT, Stack, run_stack


@pytest.fixture
def stack(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Stack:
    with run_stack(tmp_path, reconcile=OFF) as running:  # type: ignore[arg-type]
        settings = running.settings
        for name, value in {
            "DATABASE_URL": settings.database_url,
            "APP_SECRET_KEY": settings.app_secret_key or "",
            "APP_URL": settings.app_url,
            "DATA_DIR": str(settings.data_dir),
            "PAYCOMBAT_API_URL": running.sandbox.base_url,
        }.items():
            monkeypatch.setenv(name, value)
        yield running  # type: ignore[misc]


def test_a_dry_run_prints_each_payment_and_records_nothing(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.sandbox.drop_webhooks(account=ACCOUNT.name)
    (_, paid), (_, failed), (_, still_open) = start_checkouts(stack, 3)
    stack.sandbox.settle(paid, "success")
    stack.sandbox.settle(failed, "failed")

    assert main(["reconcile", "--dry-run"]) == 0

    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    by_checkout = {
        checkout: next(line for line in lines if checkout in line) for checkout in (paid, failed, still_open)
    }
    assert "paid 10.25 USD" in by_checkout[paid] and "dry run: nothing recorded" in by_checkout[paid]
    assert "failed" in by_checkout[failed]
    assert "nothing at PayCombat yet" in by_checkout[still_open]
    assert lines[-1] == "dry run: 3 payment(s) looked up: 1 failed, 1 nothing yet, 1 paid"
    with stack.ctx.database.session(readonly=True) as session:
        assert session.query(PaycombatDelivery).count() == 0
    assert stack.saleor.reports == []


def test_a_pass_reports_what_paycombat_shows_once(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    stack.sandbox.drop_webhooks(account=ACCOUNT.name)
    (_, paid), (_, failed) = start_checkouts(stack, 2)
    stack.sandbox.settle(paid, "success")
    stack.sandbox.settle(failed, "failed")

    assert main(["reconcile", "--since", "1h"]) == 0
    first = capsys.readouterr().out
    assert "CHARGE_SUCCESS reported (10.25 USD)" in first and "CHARGE_FAILURE reported" in first
    stack.wait_until(lambda: len(stack.saleor.accepted_events()) == 2 and stack.outbox_settled())

    assert main(["reconcile"]) == 0  # settled payments are no longer open: nothing to look up
    assert capsys.readouterr().out.strip() == "0 payment(s) looked up: nothing open"
    assert len(stack.saleor.reports) == 2


def test_durations() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("7d") == timedelta(days=7)
    for wrong in ("", "10", "2x", "h", "0s", "-1h"):
        with pytest.raises(Exception, match="duration"):
            parse_duration(wrong)


def test_a_bad_duration_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["reconcile", "--since", "soon"])
    assert exited.value.code == 2
    assert "not a duration: 'soon'" in capsys.readouterr().err
