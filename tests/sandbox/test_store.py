"""State in memory or in a SQLite file: exact decimals survive a restart, and owed webhooks resume."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from paycombat_gateway.sandbox.server import run_sandbox
from paycombat_gateway.sandbox.store import SandboxStore
from tests.sandbox.conftest import ACCOUNT, Api, krw_request
from tests.support.receiver import run_receiver


def test_sqlite_state_survives_a_restart_with_exact_amounts(tmp_path: Path) -> None:
    database = str(tmp_path / "sandbox.sqlite3")
    items = [{"product_name": "A", "quantity": 3, "unit_price": Decimal("0.10")}]
    with run_sandbox([ACCOUNT], database=database) as first:
        api = Api(first.base_url)
        usd = api.create_checkout(
            amount=Decimal("0.30"), currency="USD", country_code="US", order_items=items
        )
        krw = api.create_checkout(**krw_request())
        payin = first.settle(usd["id"], "success")
    with run_sandbox([ACCOUNT], database=database) as second:
        api = Api(second.base_url)
        stored = second.store.get("checkout", usd["id"])
        assert (
            stored is not None
            and stored["amount"] == Decimal("0.30")
            and isinstance(stored["amount"], Decimal)
        )
        assert stored["_status"] == "COMPLETED"
        assert api.data("get_detail_checkout", checkout_id=krw["id"])["amount"] == 15000
        assert api.data("retrieve_payin", payin_id=payin["id"])["amount"] == Decimal("0.3")
        assert [item["id"] for item in api.data("get_all_checkout")["data"]] == [krw["id"], usd["id"]]
        assert second.settle(krw["id"], "success")["amount"] == 15000


def test_webhooks_still_owed_are_resumed_after_a_restart(tmp_path: Path) -> None:
    database = str(tmp_path / "sandbox.sqlite3")
    with run_receiver(statuses=[500]) as receiver:
        with run_sandbox([ACCOUNT], database=database, webhook_retry_delays=(60,)) as first:
            checkout = Api(first.base_url).create_checkout(webhook_url=receiver.url)
            first.settle(checkout["id"], "success")
            receiver.wait_for(1)  # refused; the retry is a minute away when the sandbox stops
        with run_sandbox([ACCOUNT], database=database, webhook_retry_delays=(60,)) as second:
            deliveries = receiver.wait_for(2)
            assert deliveries[0].body == deliveries[1].body
            assert second.wait_for_webhooks()
            (record,) = second.deliveries()
            assert [attempt["status"] for attempt in record["attempts"]] == [500, 200] and record["delivered"]


def test_the_store_hands_out_copies() -> None:
    store = SandboxStore()
    store.put("checkout", {"id": "c1", "amount": Decimal("1.10"), "nested": {"a": 1}})
    copy = store.get("checkout", "c1")
    assert copy is not None
    copy["nested"]["a"] = 2
    copy["amount"] = Decimal(0)
    assert store.get("checkout", "c1") == {"id": "c1", "amount": Decimal("1.10"), "nested": {"a": 1}}
    assert store.filter("checkout", amount=Decimal("1.1")) == [store.get("checkout", "c1")]
    assert store.find("checkout", id="nope") is None and store.count("payin") == 0
