"""The operator's commands against a running app's database: config edit|remove, outbox list|retry,
installations list, purge. Each names its database, prints what it changed, never a secret, and refuses
bad input in one line with exit 2."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from paycombat_gateway.background.retention import RetentionRunner
from paycombat_gateway.cli import main
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage.configs import credentials, mapped_channels
from paycombat_gateway.storage.models import OutboxReport, PaycombatConfig, PaycombatDelivery, PaymentSession
from tests.e2e.test_configuration_cli import _add, _errors, _names, environment  # noqa: F401 - the fixture
from tests.support.saleor_double import initialize_payload
from tests.support.stack import ACCOUNT, Stack, money_reports

pytestmark = pytest.mark.usefixtures("environment")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, standard output, and standard error without the database line (which is asserted once)."""
    code = main(list(argv))
    captured = capsys.readouterr()
    assert captured.err.startswith("database: ") or code == 2, captured.err
    errors = "".join(line for line in captured.err.splitlines(True) if not line.startswith("database: "))
    return code, captured.out, errors


def _refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, errors = _run(capsys, *argv)
    assert code == 2 and errors.count("\n") == 1, (code, out, errors)
    return errors


def _config(stack: Stack, config_id: str) -> PaycombatConfig:
    with stack.ctx.database.session(readonly=True) as session:
        config = session.get(PaycombatConfig, config_id)
        assert config is not None
        session.expunge(config)
        return config


def test_config_edit_changes_only_what_is_given(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "config", "edit", stack.config_id, "--name", "Renamed", "--channel",
                        "default-channel", "--channel", "korea")  # fmt: skip
    assert code == 0
    assert "name: Main -> Renamed" in out and "channels: default-channel -> default-channel, korea" in out
    code, out, _ = _run(capsys, "config", "edit", stack.config_id, "--x-token", "snd_edited_xtoken_4321")
    assert code == 0 and "X-token: replaced (now ****" in out and "snd_edited" not in out
    config = _config(stack, stack.config_id)
    assert config.name == "Renamed" and config.environment == "sandbox"
    assert credentials(stack.ctx.box, config).x_token == "snd_edited_xtoken_4321"
    assert credentials(stack.ctx.box, config).signature_key == ACCOUNT.signature_key  # not given: kept
    with stack.ctx.database.session(readonly=True) as session:
        assert mapped_channels(session, stack.config_id) == ["default-channel", "korea"]
    code, out, _ = _run(capsys, "config", "edit", stack.config_id, "--name", "Renamed")
    assert code == 0 and "nothing changed" in out


def test_config_edit_refuses_bad_input_in_one_line(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(stack, "Other", "--channel", "poland") == 0
    capsys.readouterr()
    edit = ("config", "edit", stack.config_id)
    assert "--name: Give the configuration a name." in _refused(capsys, *edit, "--name", " ")
    assert "--x-token: That does not look like a PayCombat X-token." in _refused(
        capsys, *edit, "--x-token", "short"
    )
    assert "--redirect-url:" in _refused(capsys, *edit, "--redirect-url", "not a url")
    assert "nothing to change" in _refused(capsys, *edit)
    assert "no configuration nope" in _refused(capsys, "config", "edit", "nope", "--name", "X")
    assert "This Saleor has no channel 'nosuch'" in _refused(capsys, *edit, "--channel", "nosuch")
    assert "already pays with configuration 'Other'" in _refused(capsys, *edit, "--channel", "poland")
    assert "needs --x-token and --signature-key" in _refused(
        capsys, *edit, "--api-url", "https://api.eu.example.com"
    )
    assert "already exists" in _refused(capsys, *edit, "--name", "Other")
    config = _config(stack, stack.config_id)
    assert config.name == "Main" and config.api_url is None and config.redirect_url is None
    assert credentials(stack.ctx.box, config).x_token == ACCOUNT.x_token
    with stack.ctx.database.session(readonly=True) as session:
        assert mapped_channels(session, stack.config_id) == ["default-channel"]


def test_config_remove_deletes_or_disables_a_configuration_with_payments(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _add(stack, "Unused", "--channel", "poland") == 0
    unused_id = capsys.readouterr().out.split("id: ")[1].split()[0]
    code, out, _ = _run(capsys, "config", "remove", unused_id)
    assert code == 0 and "deleted" in out and "poland" in out
    with stack.ctx.database.session(readonly=True) as session:
        assert session.get(PaycombatConfig, unused_id) is None
    stack.settled_checkout("success")
    code, out, _ = _run(capsys, "config", "remove", stack.config_id)
    assert code == 0 and "disabled" in out and "default-channel" in out
    config = _config(stack, stack.config_id)
    assert config.disabled_at is not None and config.x_token_encrypted == "" == config.signature_key_encrypted
    assert _names(stack) == []
    with stack.ctx.database.session(readonly=True) as session:
        assert session.query(PaymentSession).one().state == "succeeded"
    # its webhook URL stops answering once the server's configuration cache expires (seconds)
    stack.wait_until(lambda: stack.deliver_signed(b"{}").status_code == 404)
    assert "no configuration" in _refused(capsys, "config", "remove", stack.config_id)


def test_config_remove_is_refused_while_a_payment_on_it_can_still_be_completed(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))  # left open
    refusal = _refused(capsys, "config", "remove", stack.config_id)
    assert "1 payment on it is still open" in refusal and "unmap its channels" in refusal
    config = _config(stack, stack.config_id)  # nothing changed: keys, channels, reconciling
    assert config.disabled_at is None and credentials(stack.ctx.box, config).x_token == ACCOUNT.x_token
    assert _names(stack) == ["Main"]
    with stack.ctx.database.session() as session:
        assert mapped_channels(session, stack.config_id) == ["default-channel"]
        (payment,) = session.query(PaymentSession).all()
        assert payment.reconcile_stopped_at is None
        payment.expires_at, payment.virtual_account = (
            "2020-01-01T00:00:00+00:00",
            None,
        )  # the shopper's time ran out
    code, out, _ = _run(capsys, "config", "remove", stack.config_id)
    assert code == 0 and "disabled" in out
    assert _config(stack, stack.config_id).disabled_at is not None


@pytest.mark.parametrize("limit", ["0", "-3", "many"])
def test_outbox_list_refuses_a_limit_that_is_not_a_positive_number(
    capsys: pytest.CaptureFixture[str], limit: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["outbox", "list", f"--limit={limit}"])
    assert exited.value.code == 2
    errors = capsys.readouterr().err
    assert f"--limit: a whole number above zero, not '{limit}'" in errors and "Traceback" not in errors


def test_outbox_list_and_retry(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    stack.settled_checkout("success")
    stack.wait_until(stack.outbox_settled)
    code, out, _ = _run(capsys, "outbox", "list")
    assert code == 0 and "Nothing owed to Saleor" in out
    with stack.ctx.database.session() as session:
        report = money_reports(session).one()
        report_id = report.id
        session.execute(
            update(OutboxReport).where(OutboxReport.id == report_id)
            .values(state="failed", last_error="INCORRECT_DETAILS: refused")
        )  # fmt: skip
    code, out, _ = _run(capsys, "outbox", "list", "--parked")
    assert code == 0 and f"{report_id}  parked  CHARGE_SUCCESS" in out and "INCORRECT_DETAILS" in out
    code, out, _ = _run(capsys, "outbox", "retry", str(report_id))
    assert code == 0 and f"report(s) {report_id}" in out
    with stack.ctx.database.session(readonly=True) as session:
        assert session.get(OutboxReport, report_id).state in {"pending", "delivered"}  # type: ignore[union-attr]
    stack.wait_until(stack.outbox_settled)
    assert "Saleor already has report" in _refused(capsys, "outbox", "retry", str(report_id))
    assert "no report 99999" in _refused(capsys, "outbox", "retry", "99999")
    assert "give REPORT_ID or --parked" in _refused(capsys, "outbox", "retry")
    assert "give REPORT_ID or --parked" in _refused(capsys, "outbox", "retry", str(report_id), "--parked")
    code, out, _ = _run(capsys, "outbox", "retry", "--parked")
    assert code == 0 and "No parked reports." in out


def test_installations_list_and_purge_by_hand(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    """A Saleor 3.21 never sends APP_DELETED: purge does the same by hand."""
    code, out, _ = _run(capsys, "installations", "list")
    assert code == 0 and f"{stack.saleor.api_url}  installed" in out and "configurations 1" in out
    assert stack.saleor.app_token not in out
    stack.settled_checkout("success")
    with stack.ctx.database.session() as session:  # a report Saleor refused: parked
        session.execute(update(OutboxReport).values(state="failed"))
    code, out, _ = _run(capsys, "purge", "--saleor-api-url", stack.saleor.api_url)
    assert code == 0
    assert (
        "Saleor app token: wiped" in out and f"Main ({stack.config_id})" in out and "default-channel" in out
    )
    code, out, _ = _run(capsys, "installations", "list")
    assert "uninstalled" in out and "configurations 0" in out and "payments 1" in out
    # the server (another context, as another instance would be) refuses once its keys cache expires
    deadline = time.monotonic() + 60
    while (
        refused := stack.send(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))
    ).status_code != 401:
        assert time.monotonic() < deadline, refused.text
        time.sleep(1)
    assert refused.json()["error"]["code"] == "APP_UNINSTALLED"
    code, out, _ = _run(capsys, "outbox", "retry", "--parked")
    assert code == 0 and "Left parked" in out and "uninstalled the app" in out
    assert "no installation for" in _refused(
        capsys, "purge", "--saleor-api-url", "https://nowhere.example/graphql/"
    )


def test_purge_expired_applies_the_retention_now(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.settled_checkout("success")
    monkeypatch.setenv("DATA_RETENTION_DAYS", "0")
    code, out, _ = _run(capsys, "purge", "--expired")
    assert code == 0 and "older than 0 day(s)" in out
    assert "PayCombat deliveries emptied (body and headers): 0" not in out
    with stack.ctx.database.session(readonly=True) as session:
        assert all(d.raw_body == b"" for d in session.query(PaycombatDelivery))
        payment = session.query(PaymentSession).one()
        assert payment.purged_at is not None and payment.paid_amount == payment.amount
    monkeypatch.setenv("DATA_RETENTION_DAYS", "-1")
    assert "DATA_RETENTION_DAYS must be a whole number of days" in _refused(capsys, "purge", "--expired")


def test_the_server_runs_the_retention_pass_by_itself(stack: Stack) -> None:
    assert isinstance(stack.app.state.retention, RetentionRunner)
    stack.settled_checkout("success")
    runner = RetentionRunner(stack.ctx.database, 0, interval_seconds=0.05)  # the server's, made quick
    runner.start()
    try:

        def emptied() -> bool:
            with stack.ctx.database.session(readonly=True) as session:
                return all(d.raw_body == b"" for d in session.query(PaycombatDelivery))

        stack.wait_until(emptied)
    finally:
        runner.stop()
