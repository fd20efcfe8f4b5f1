"""Reconciliation benchmark: a backlog of open sessions whose webhooks never came, looked up at PayCombat.

The sandbox runs in its own process (``python -m benchmarks.reconcile sandbox …``) holding the checkouts
of the backlog: a share paid, a share failed, the rest still open, and not one webhook sent. The bench
process plays one app instance: it stores the open payment sessions, then runs its ``Reconciler``
pass after pass until nothing is due, and prints how long that took and how many PayCombat calls it
made (counted on the client). Pacing is lifted (``RECONCILE_CALLS_PER_SECOND``) to measure the
reconciler itself; what the default pacing would make of the same backlog is printed beside it.
Loopback only; bounded by ``--reconcile-seconds``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from paycombat_gateway.background.reconciler import Reconciler
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.reconcile import Finding
from paycombat_gateway.paycombat.client import AsyncPaycombatClient
from paycombat_gateway.sandbox.server import SandboxAccount, run_sandbox
from paycombat_gateway.settings import ReconcileSettings, Settings
from paycombat_gateway.storage.configs import create_config
from paycombat_gateway.storage.installations import upsert_installation
from paycombat_gateway.storage.migrate import migrate
from paycombat_gateway.storage.models import OutboxReport, PaymentSession, utcnow
from tests.support.databases import postgres_database_url

ACCOUNT = SandboxAccount(x_token="snd_bench_reconcile_xtoken", signature_key="snd_bench_reconcile_sigkey")
SECRET = "benchmark-secret-key-long-enough"
PAID_SHARE, FAILED_SHARE = 0.5, 0.05


def serve_sandbox(count: int, port: int, out: Path) -> None:
    """In the sandbox process: create the backlog's checkouts, settle some, write them to ``out``, serve."""
    with run_sandbox([ACCOUNT], port=port) as sandbox:
        checkouts = []
        for number in range(count):
            reference = f"SALEOR-bench-{number:05d}"
            body = {"amount": Decimal("10.00") + number % 90, "currency": "AUD", "country_code": "AU",
                    "description": reference}  # fmt: skip
            checkout = sandbox.checkouts.create(ACCOUNT, body, sandbox.base_url)
            outcome = "success" if number % 20 < 20 * PAID_SHARE else "failed" if number % 20 == 19 else None
            if outcome:
                sandbox.checkouts.settle(checkout["id"], outcome)  # no webhook_url: no webhook at all
            checkouts.append({"id": checkout["id"], "reference": reference, "amount": str(body["amount"]),
                              "expire_at": checkout["expire_at"], "outcome": outcome})  # fmt: skip
        out.write_text(json.dumps(checkouts))
        sys.stdin.read()  # serve until the bench closes our stdin


@contextmanager
def _sandbox_process(count: int, tmp: Path, deadline_seconds: float = 300) -> Iterator[tuple[str, list[Any]]]:
    from benchmarks.run import _port

    port, out = _port(), tmp / "reconcile-backlog.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.reconcile", "sandbox", str(count), str(port), str(out)],
        stdin=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + deadline_seconds
        while not out.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the benchmark's sandbox did not come up")
            time.sleep(0.1)
        time.sleep(0.1)  # the file is written in one call; let it be closed
        yield f"http://127.0.0.1:{port}", json.loads(out.read_text())
    finally:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=20)


def _store_backlog(ctx: GatewayContext, sandbox_url: str, checkouts: list[Any]) -> None:
    """One installation and configuration, and an open payment session for each checkout."""
    created = utcnow() - timedelta(minutes=20)  # open longer than RECONCILE_AFTER_SECONDS
    with ctx.database.session() as session:
        installation = upsert_installation(session, ctx.box, saleor_api_url="http://127.0.0.1:9/graphql/",
                                           app_id="bench", token="bench-token", jwks=None)  # fmt: skip
        config = create_config(session, ctx.box, installation_id=installation.id, name="Bench",
                               x_token=ACCOUNT.x_token, signature_key=ACCOUNT.signature_key, api_url=sandbox_url)  # fmt: skip
        rows = [
            {
                "installation_id": installation.id, "config_id": config.id,
                "saleor_transaction_id": f"TransactionItem:{uuid.uuid4()}", "idempotency_key": str(uuid.uuid4()),
                "merchant_reference": checkout["reference"], "source_type": "checkout", "source_id": "bench",
                "channel_slug": "default-channel", "currency": "AUD", "amount": Decimal(checkout["amount"]),
                "action_type": "CHARGE", "state": "action_required", "claimed_at": created,
                "checkout_id": checkout["id"], "expires_at": checkout["expire_at"], "amount_mismatch": False,
                "reconcile_attempts": 0, "created_at": created, "updated_at": created,
            }
            for checkout in checkouts
        ]  # fmt: skip
        for start in range(0, len(rows), 1000):
            session.execute(insert(PaymentSession), rows[start : start + 1000])


@contextmanager
def _counting() -> Iterator[Callable[[], int]]:
    """Count every exchange the async clients send (the reconciler's clients are built per event loop,
    so the class's method is wrapped for the measurement's duration)."""
    calls = 0
    send = AsyncPaycombatClient.send

    async def counted(self: AsyncPaycombatClient, call: Any) -> Any:
        nonlocal calls
        calls += 1
        return await send(self, call)

    AsyncPaycombatClient.send = counted  # type: ignore[method-assign]
    try:
        yield lambda: calls
    finally:
        AsyncPaycombatClient.send = send  # type: ignore[method-assign]


def _reconcile(database_url: str, tmp: Path, sandbox_url: str, checkouts: list[Any], limit: float) -> None:
    migrate(database_url)
    settings = Settings(app_env="test", data_dir=tmp, database_url=database_url, app_secret_key=SECRET,
                        paycombat_api_url=sandbox_url, log_level="WARNING")  # fmt: skip
    # Unpaced, to measure the reconciler; an interval longer than the run, so each session is looked at once.
    settings = replace(
        settings, reconcile=ReconcileSettings(interval_seconds=3600, calls_per_second=1_000_000)
    )
    ctx = GatewayContext.create(settings)
    try:
        _store_backlog(ctx, sandbox_url, checkouts)
        reconciler = Reconciler(ctx, batch=200)
        findings: list[Finding] = []
        with _counting() as calls:
            started = time.perf_counter()
            while (batch := reconciler.run_once()) and time.perf_counter() - started < limit:
                findings += batch
            seconds = time.perf_counter() - started
        with ctx.database.session(readonly=True) as session:
            reports = Counter(session.execute(select(OutboxReport.event_type, func.count()).group_by(OutboxReport.event_type)).all())  # fmt: skip
    finally:
        ctx.close()
    tally = Counter(finding.tally for finding in findings)
    expected = Counter(checkout["outcome"] or "open" for checkout in checkouts)
    done = "" if len(findings) >= len(checkouts) else f" (stopped at the {limit:g} s bound)"
    print(f"  {len(findings)} of {len(checkouts)} sessions looked up in {seconds:.1f} s{done}: "
          f"{len(findings) / seconds:.0f} sessions/s, {calls()} PayCombat calls "
          f"({calls() / max(len(findings), 1):.2f} per session)")  # fmt: skip
    print(f"  found: {dict(sorted(tally.items()))}; at the sandbox: {dict(sorted(expected.items()))}")
    print(f"  reports owed to Saleor: {dict(sorted((kind, n) for (kind, n), _ in reports.items()))}")
    default = ReconcileSettings().calls_per_second
    print(f"  at the default RECONCILE_CALLS_PER_SECOND={default:g} per configuration, the same {calls()} calls "
          f"would be spread over at least {calls() / default:.0f} s")  # fmt: skip


def bench_reconcile(tmp: str, count: int, limit: float) -> None:
    print(f"\n4. Reconciliation: a backlog of {count} open sessions, every webhook lost "
          f"({PAID_SHARE:.0%} paid, {FAILED_SHARE:.0%} failed, the rest still open at PayCombat)")  # fmt: skip
    with _sandbox_process(count, Path(tmp)) as (sandbox_url, checkouts):
        for label, database in (("SQLite", None), ("PostgreSQL", postgres_database_url)):
            print(f" {label}, one instance:")
            with ExitStack() as stack:
                url = (
                    f"sqlite:///{tmp}/bench-reconcile.sqlite3"
                    if database is None
                    else stack.enter_context(database())
                )
                _reconcile(url, Path(tmp), sandbox_url, checkouts, limit)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["sandbox"])
    parser.add_argument("count", type=int)
    parser.add_argument("port", type=int)
    parser.add_argument("out", type=Path)
    arguments = parser.parse_args()
    serve_sandbox(arguments.count, arguments.port, arguments.out)
