"""APP_DELETED over real HTTP, from the Saleor double as Saleor 3.23 sends it: the installation's token and
PayCombat keys are wiped, its calls refused, and a reinstall starts clean; a forged notice changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage.configs import list_configs
from paycombat_gateway.storage.installations import get_installation
from paycombat_gateway.storage.models import ChannelMapping, PaycombatConfig, PaymentSession
from tests.support.saleor_double import SigningKey, initialize_payload
from tests.support.stack import ACCOUNT, Stack, _add_config, run_stack

APP_DELETED = "/api/webhooks/saleor/app-deleted"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with run_stack(tmp_path, "3.23") as running:
        yield running


def _notice(stack: Stack, app_id: str | None = None) -> dict[str, object]:
    app = {"id": app_id or stack.saleor.app_id}
    return {"__typename": "AppDeleted", "version": "3.23.28", "recipient": app, "app": app}


def _keys_in_place(stack: Stack) -> bool:
    with stack.ctx.database.session(readonly=True) as session:
        installation = get_installation(session, stack.saleor.api_url)
        config = session.get(PaycombatConfig, stack.config_id)
        assert installation is not None and config is not None
        return (
            stack.ctx.box.decrypt(installation.token_encrypted) == stack.saleor.app_token
            and stack.ctx.box.decrypt(config.x_token_encrypted) == ACCOUNT.x_token
            and config.disabled_at is None
            and installation.uninstalled_at is None
        )


def test_app_deleted_wipes_refuses_and_a_reinstall_starts_clean(stack: Stack) -> None:
    stack.settled_checkout("success")
    answer = stack.saleor.delete_app(stack.app_url)
    assert answer is not None and answer.status_code == 200, answer.text if answer is not None else ""

    with stack.ctx.database.session(readonly=True) as session:
        installation = get_installation(session, stack.saleor.api_url)
        assert installation is not None and installation.uninstalled_at is not None
        assert installation.token_encrypted == "" and installation.jwks is None
        (config,) = session.query(PaycombatConfig).all()
        assert (config.x_token_encrypted, config.signature_key_encrypted) == ("", "")
        assert config.disabled_at is not None and session.query(ChannelMapping).count() == 0
        (payment,) = session.query(PaymentSession).all()  # the bookkeeping stays
        assert payment.state == "succeeded" and payment.paid_amount == payment.amount

    refused = stack.send(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "APP_UNINSTALLED"
    page = requests.post(
        f"{stack.app_url}/graphql", json={"query": "{ configurations { id } }"},
        headers={"saleor-api-url": stack.saleor.api_url, "authorization-bearer": stack.saleor.dashboard_token()},
        timeout=10,
    )  # fmt: skip
    assert page.status_code == 401 and "uninstalled" in page.text
    assert stack.deliver_signed(b'{"event":"PAYIN_SUCCESS"}').status_code == 404  # its webhook URL is gone
    again = stack.saleor.send_webhook(stack.app_url, APP_DELETED, "APP_DELETED", _notice(stack))
    assert again.status_code == 401 and again.json()["error"]["code"] == "APP_UNINSTALLED"

    stack.saleor.app_id = "QXBwOjI="  # appInstall again: a new App, a new token
    assert stack.saleor.register(stack.app_url).status_code == 200
    with stack.ctx.database.session(readonly=True) as session:
        installation = get_installation(session, stack.saleor.api_url)
        assert installation is not None and installation.uninstalled_at is None
        assert list_configs(session, installation.id) == []  # clean: no configuration until one is added
    stack.config_id = _add_config(stack.ctx, stack.saleor.api_url)  # the same name "Main" is free again
    answer_after = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))
    assert answer_after["result"] == "CHARGE_ACTION_REQUIRED"


def test_a_forged_or_misaddressed_app_deleted_changes_nothing(stack: Stack) -> None:
    body = stack.saleor.serialise(_notice(stack))
    send = stack.saleor.send_webhook
    forged = send(
        stack.app_url,
        APP_DELETED,
        "APP_DELETED",
        _notice(stack),
        signature=stack.saleor.sign(body, SigningKey.generate()),
    )
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "SIGNATURE_VERIFICATION_FAILED"
    unsigned = send(stack.app_url, APP_DELETED, "APP_DELETED", _notice(stack), signature="")
    assert unsigned.status_code == 400
    tampered = send(stack.app_url, APP_DELETED, "APP_DELETED", _notice(stack),
                    body=body.replace(b"3.23.28", b"3.23.29"), signature=stack.saleor.sign(body))  # fmt: skip
    assert tampered.status_code == 401
    other_app = send(stack.app_url, APP_DELETED, "APP_DELETED", _notice(stack, "QXBwOjk5"))
    assert other_app.status_code == 403  # an earlier installation's late notice: this one stays
    wrong_event = send(stack.app_url, APP_DELETED, "TRANSACTION_INITIALIZE_SESSION", _notice(stack))
    assert wrong_event.status_code == 400
    assert _keys_in_place(stack)
    answer = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))
    assert answer["result"] == "CHARGE_ACTION_REQUIRED"
