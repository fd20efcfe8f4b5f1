"""The whole system on loopback: the app (real HTTP), the PayCombat sandbox and the Saleor double."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from sqlalchemy.orm import Query, Session
from starlette.applications import Starlette

from paycombat_gateway.background_server import bind_loopback, serve_in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.reporting import TRANSACTION_DETAILS
from paycombat_gateway.paycombat.signing import compute_signature
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.sandbox.server import RunningSandbox, SandboxAccount, run_sandbox
from paycombat_gateway.settings import Settings
from paycombat_gateway.storage.configs import create_config, map_channels
from paycombat_gateway.storage.installations import get_installation
from paycombat_gateway.storage.models import OutboxReport, PaymentSession
from paycombat_gateway.web.app import create_app
from tests.support.databases import postgres_database_url
from tests.support.saleor_double import NEWEST, SaleorDouble, initialize_payload, run_saleor

ACCOUNT = SandboxAccount(x_token="snd_e2e_xtoken_4f1c2a", signature_key="snd_e2e_sigkey_9b7d3e", name="e2e")
REPORT_OF_OUTCOME = {"success": "CHARGE_SUCCESS", "failed": "CHARGE_FAILURE", "expired": "CHARGE_FAILURE"}
PATHS = {event: "/api/webhooks/saleor/" + event.value.lower().replace("_", "-") for event in SyncEvent}


@dataclass
class Stack:
    app_url: str
    app: Starlette
    saleor: SaleorDouble
    sandbox: RunningSandbox
    config_id: str
    settings: Settings

    @property
    def ctx(self) -> GatewayContext:
        context: GatewayContext = self.app.state.context
        return context

    def send(self, event: SyncEvent, payload: dict[str, Any], **overrides: Any) -> requests.Response:
        return self.saleor.send_webhook(self.app_url, PATHS[event], event.value, payload, **overrides)

    def call(self, event: SyncEvent, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a sync webhook and apply its answer's actions as Saleor would."""
        response = self.send(event, payload)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        transaction = payload.get("transaction")
        if transaction and event is not SyncEvent.PAYMENT_GATEWAY_INITIALIZE_SESSION:
            session = event in {
                SyncEvent.TRANSACTION_INITIALIZE_SESSION,
                SyncEvent.TRANSACTION_PROCESS_SESSION,
            }
            self.saleor.apply_answer(transaction["id"], session=session, answer=body)
        return body

    def order_page(self, transaction_id: str) -> dict[str, Any]:
        """The transaction as Saleor's order page shows it, once every owed report has arrived."""
        self.wait_until(self.outbox_settled)
        return self.saleor.transaction(transaction_id)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise AssertionError("condition not met in time")

    def outbox_settled(self) -> bool:
        """No report is still waiting to be delivered."""
        with self.ctx.database.session() as session:
            return session.query(OutboxReport).filter(OutboxReport.state == "pending").count() == 0

    def deliver_signed(self, body: bytes) -> requests.Response:
        """POST ``body`` to this configuration's PayCombat webhook route, signed as PayCombat would."""
        return requests.post(
            f"{self.app_url}/api/webhooks/paycombat/{self.config_id}",
            data=body,
            headers={"X-Signature": compute_signature(body, ACCOUNT.signature_key)},
            timeout=10,
        )

    def reports(self, event_type: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.saleor.reports if event_type is None or r["type"] == event_type]

    def settled_checkout(self, outcome: str, **payload_options: Any) -> tuple[dict[str, Any], str]:
        """Start a hosted checkout through transactionInitialize, let the shopper's payin end with
        ``outcome`` at PayCombat, and wait until Saleor has the report: the initialize payload and the
        checkout id (the pspReference)."""
        initialize = initialize_payload(self.saleor, **payload_options)
        checkout_id: str = self.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
        self.sandbox.settle(checkout_id, outcome)
        self.wait_until(lambda: bool(self.reports(REPORT_OF_OUTCOME[outcome])))
        return initialize, checkout_id

    def payment_with_a_parked_report(self) -> str:
        """A payment Saleor already holds with another amount: its charge report is refused for good
        (INCORRECT_DETAILS) and parked. Its checkout id, once every other report has arrived."""
        initialize = initialize_payload(self.saleor)
        checkout_id: str = self.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
        self.saleor._events[(initialize["transaction"]["id"], "CHARGE_SUCCESS", checkout_id)] = Decimal("1")
        self.sandbox.settle(checkout_id, "success")

        def parked() -> bool:
            with self.ctx.database.session() as session:
                return (
                    session.query(OutboxReport).filter_by(psp_reference=checkout_id, state="failed").count()
                    == 1
                )

        self.wait_until(parked)
        self.wait_until(self.outbox_settled)
        return checkout_id

    def payin_success_for(self, checkout_id: str, payin_id: str) -> str:
        """The sandbox's one PAYIN_SUCCESS delivery, rewritten as a payin ``payin_id`` for the payment of
        ``checkout_id`` (its merchant reference swapped in): a signed-looking body to craft deliveries from."""
        template: str = self.delivery("PAYIN_SUCCESS")["payload"]
        with self.ctx.database.session() as session:
            references = {row.checkout_id: row.merchant_reference for row in session.query(PaymentSession)}
        (source,) = [reference for reference in references.values() if reference in template]
        return template.replace(source, references[checkout_id]).replace(template[7:43], payin_id)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """A configuration API call with a valid Dashboard token; its JSON answer (HTTP 200 asserted)."""
        response = requests.post(
            f"{self.app_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={
                "saleor-api-url": self.saleor.api_url,
                "authorization-bearer": self.saleor.dashboard_token(),
            },
            timeout=60,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def delivery(self, event: str) -> dict[str, Any]:
        """The one delivery of ``event`` (e.g. PAYIN_SUCCESS) the sandbox has sent."""
        (delivery,) = [d for d in self.sandbox.store.all("delivery") if d["event"] == event]
        return delivery


def money_reports(session: Session) -> Query[OutboxReport]:
    """The outbox's event reports, without the transaction-details rows (name, link, buttons)."""
    return session.query(OutboxReport).filter(OutboxReport.event_type != TRANSACTION_DETAILS)


def make_settings(tmp_path: Path, app_url: str, sandbox_url: str, **overrides: Any) -> Settings:
    settings = Settings(
        app_url=app_url,
        app_env="test",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'app.sqlite3'}",
        app_secret_key="e2e-secret-key-that-is-long-enough",
        paycombat_api_url=sandbox_url,
        log_format="text",
        outbox_poll_seconds=0.1,
        paycombat_read_timeout=2.0,
    )
    return replace(settings, **overrides)


@contextmanager
def serve_app(settings: Settings, sock: Any = None) -> Iterator[tuple[str, Starlette]]:
    app = create_app(settings)
    with serve_in_thread(app, sock=sock) as url:
        yield url, app


def _add_config(ctx: GatewayContext, saleor_api_url: str, api_url: str | None = None) -> str:
    with ctx.database.session() as session:
        installation = get_installation(session, saleor_api_url)
        assert installation is not None
        config = create_config(
            session, ctx.box, installation_id=installation.id, name="Main",
            x_token=ACCOUNT.x_token, signature_key=ACCOUNT.signature_key, api_url=api_url,
        )  # fmt: skip
        map_channels(session, installation.id, config.id, ["default-channel"])
        return config.id


@contextmanager
def run_stack(
    tmp_path: Path, saleor_version: str = NEWEST, *, with_config: bool = True, **overrides: Any
) -> Iterator[Stack]:
    with (
        run_saleor(saleor_version) as saleor,
        run_sandbox([ACCOUNT], webhook_retry_delays=(0.2, 0.5, 1, 2, 4)) as sandbox,
    ):
        sock = bind_loopback()
        app_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = make_settings(
            tmp_path, app_url, sandbox.base_url, **{"allowed_saleor_urls": saleor.api_url, **overrides}
        )
        with serve_app(settings, sock) as (url, app):
            response = saleor.register(url)
            assert response.status_code == 200, response.text
            ctx: GatewayContext = app.state.context
            config_id = _add_config(ctx, saleor.api_url) if with_config else ""
            yield Stack(url, app, saleor, sandbox, config_id, settings)


@contextmanager
def run_stack_on(backend: str, tmp_path: Path, **overrides: Any) -> Iterator[Stack]:
    """``run_stack`` on "sqlite" (its default file) or on a fresh "postgresql" database."""
    if backend == "sqlite":
        with run_stack(tmp_path, **overrides) as stack:
            yield stack
        return
    with postgres_database_url() as url, run_stack(tmp_path, database_url=url, **overrides) as stack:
        yield stack


@contextmanager
def run_tenants(
    tmp_path: Path, *, slow_paycombat_url: str | None = None, **overrides: Any
) -> Iterator[tuple[Stack, Stack]]:
    """One app serving two Saleors, each installed with a configuration of its own: (slow, other).
    ``slow_paycombat_url``: where the first tenant's configuration finds PayCombat (a trickling one);
    the other's is the sandbox."""
    with (
        run_saleor() as slow_saleor,
        run_saleor() as other_saleor,
        run_sandbox([ACCOUNT], webhook_retry_delays=(0.2, 0.5, 1, 2, 4)) as sandbox,
    ):
        sock = bind_loopback()
        app_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        allowed = f"{slow_saleor.api_url},{other_saleor.api_url}"
        settings = make_settings(
            tmp_path, app_url, sandbox.base_url, **{"allowed_saleor_urls": allowed, **overrides}
        )
        with serve_app(settings, sock) as (url, app):
            ctx: GatewayContext = app.state.context
            tenants = []
            for saleor, api_url in ((slow_saleor, slow_paycombat_url), (other_saleor, None)):
                response = saleor.register(url)
                assert response.status_code == 200, response.text
                config_id = _add_config(ctx, saleor.api_url, api_url)
                tenants.append(Stack(url, app, saleor, sandbox, config_id, settings))
            yield tenants[0], tenants[1]
