"""The configuration API's channel rules: the Saleor's own channels, one configuration each, an explicit
move, a plain answer when the Saleor cannot be asked; and recent payments matched to their orders."""

from __future__ import annotations

import asyncio
from typing import Any

from paycombat_gateway.gateway.activity import OrderLookup
from paycombat_gateway.storage import configs, sessions
from paycombat_gateway.storage.models import Installation, PaycombatConfig
from tests.support.stack import Stack
from tests.web.test_config_api import CREATE, RESULT, _data

UPDATE = f"mutation($id: ID!, $input: ConfigurationUpdate!) {{ result: updateConfiguration(id: $id, input: $input) {{ {RESULT} }} }}"


def _create(stack: Stack, channels: list[str], **extra: Any) -> dict[str, Any]:
    config = {"name": "Second", "xToken": "snd_second_xtoken_5678", "signatureKey": "snd_second_sigkey_5678"}
    result: dict[str, Any] = _data(stack, CREATE, {"input": {**config, "channels": channels, **extra}})[
        "result"
    ]
    return result


def _mapping(stack: Stack) -> dict[str, list[str]]:
    with stack.ctx.database.session() as session:
        return {
            config.name: configs.mapped_channels(session, config.id)
            for config in session.query(PaycombatConfig).all()
        }


def test_a_mistyped_channel_is_refused_naming_the_field(stack: Stack) -> None:
    result = _create(stack, ["korea", "defualt-channel"])
    assert result["__typename"] == "ValidationErrors"
    assert result["errors"] == [
        {
            "field": "channels",
            "code": "NOT_FOUND",
            "message": "This Saleor has no channel 'defualt-channel'. Did you mean 'default-channel'?",
        }
    ]
    assert _mapping(stack) == {"Main": ["default-channel"]}
    assert any("query Channels" in call["query"] for call in stack.saleor.graphql_calls)
    assert stack.saleor.invalid_documents == []


def test_a_held_channel_moves_only_when_asked(stack: Stack) -> None:
    refused = _create(stack, ["default-channel", "korea"])
    assert refused["errors"] == [
        {
            "field": "channels",
            "code": "TAKEN",
            "message": "Channel 'default-channel' already pays with configuration 'Main'; "
            "move it explicitly to map it here.",
        }
    ]
    assert _mapping(stack) == {"Main": ["default-channel"]}
    moved = _create(stack, ["default-channel", "korea"], moveChannels=True)
    assert moved["__typename"] == "Configuration"
    assert _mapping(stack) == {"Main": [], "Second": ["default-channel", "korea"]}
    # the same rule when editing: Main taking its channel back needs the flag too
    back = _data(stack, UPDATE, {"id": stack.config_id, "input": {"channels": ["default-channel"]}})["result"]
    assert back["errors"][0]["code"] == "TAKEN" and "'Second'" in back["errors"][0]["message"]
    # a configuration keeping its own channels is not a move
    kept = _data(stack, UPDATE, {"id": moved["id"], "input": {"name": "Second!", "channels": ["korea"]}})
    assert kept["result"]["channels"] == ["korea"]


def test_saleor_out_of_reach_is_said_and_nothing_saved(stack: Stack) -> None:
    stack.saleor.mode = "down"
    result = _create(stack, ["korea"])
    assert result["errors"] == [
        {
            "field": "channels",
            "code": "UNAVAILABLE",
            "message": "Could not read this Saleor's channels (Saleor answered HTTP 503). "
            "Nothing was saved; try again.",
        }
    ]
    assert _mapping(stack) == {"Main": ["default-channel"]}
    listed = _data(stack, "{ saleorChannels { error channels { slug } } }")["saleorChannels"]
    assert listed == {
        "error": "Could not read this Saleor's channels (Saleor answered HTTP 503).",
        "channels": [],
    }
    # what adds no channel needs no answer from Saleor
    renamed = _data(
        stack, UPDATE, {"id": stack.config_id, "input": {"name": "Main 2", "channels": ["default-channel"]}}
    )
    assert renamed["result"]["name"] == "Main 2"


def test_channels_list_holders_and_currency_warnings(stack: Stack) -> None:
    _data(stack, UPDATE, {"id": stack.config_id, "input": {"channels": ["default-channel", "poland", "korea"],
                                                            "allowedPayinMethods": ["card"]}})  # fmt: skip
    listed = _data(
        stack,
        "{ saleorChannels { error channels { slug name currency configurationName currencyMethods warning } } }",
    )["saleorChannels"]
    by_slug = {channel["slug"]: channel for channel in listed["channels"]}
    assert listed["error"] is None and len(by_slug) == 5
    assert by_slug["default-channel"] == {
        "slug": "default-channel", "name": "Default Channel", "currency": "USD", "configurationName": "Main",
        "currencyMethods": ["card"], "warning": None,
    }  # fmt: skip
    assert by_slug["poland"]["warning"] == "PayCombat takes no PLN: channel Poland will not offer PayCombat."
    assert by_slug["korea"]["warning"] == (
        "None of the allowed payin methods is offered in KRW: channel Korea will not offer PayCombat."
    )
    assert by_slug["europe"]["configurationName"] is None and by_slug["europe"]["warning"] is None


def test_payin_methods_have_names(stack: Stack) -> None:
    methods = {
        m["code"]: m for m in _data(stack, "{ payinMethods { code name currencies } }")["payinMethods"]
    }
    assert methods["au_bank_npp"] == {
        "code": "au_bank_npp",
        "name": "PayID bank transfer (NPP)",
        "currencies": ["AUD"],
    }
    assert methods["card"]["currencies"] == ["AUD", "EUR", "USD", "SGD"]


def test_recent_payments_name_their_order_and_survive_saleor_down(stack: Stack) -> None:
    paid, _ = stack.settled_checkout(
        "success", amount="1.99", data={"return_url": "https://shop.example.com/r", "payin_method": "card"}
    )
    order_id = stack.saleor.complete_checkout(paid["transaction"]["id"], "1042")
    query = "{ recentTransactions { amountText paidAmountText stateText payinMethodName orderId orderNumber saleorSourceType } }"
    (row,) = _data(stack, query)["recentTransactions"]
    assert row == {
        "amountText": "1.99 USD", "paidAmountText": "1.99 USD", "stateText": "Paid", "payinMethodName": "Card",
        "orderId": order_id, "orderNumber": "1042", "saleorSourceType": "Checkout",
    }  # fmt: skip

    def order_queries() -> int:
        return sum("query TransactionOrder" in call.get("query", "") for call in stack.saleor.graphql_calls)

    asked = order_queries()
    assert asked == 1
    stack.saleor.mode = "down"  # a found order is remembered: the list does not need Saleor again
    (again,) = _data(stack, query)["recentTransactions"]
    assert again["orderNumber"] == "1042" and order_queries() == asked


def test_recent_payments_without_saleor_keep_their_checkout(stack: Stack) -> None:
    stack.settled_checkout("success", amount="3.50")
    stack.saleor.mode = "down"
    (row,) = _data(stack, "{ recentTransactions { amountText orderId orderNumber } }")["recentTransactions"]
    assert row == {"amountText": "3.50 USD", "orderId": None, "orderNumber": None}


def test_a_slow_saleor_delays_the_list_only_within_its_budget(stack: Stack) -> None:
    paid, _ = stack.settled_checkout("success", amount="4.00")
    transaction_id = paid["transaction"]["id"]
    order_id = stack.saleor.complete_checkout(transaction_id, "7")
    stack.saleor.mode = "slow"  # answers after 3 s
    with stack.ctx.database.session() as session:
        installation = session.get(Installation, 1)
        rows = sessions.recent_sessions(session, 1)
        assert installation is not None
        session.expunge_all()
    # the page does not wait for the answer (without the budget it would come after 3 s, within the timeout)
    assert asyncio.run(OrderLookup(budget=0.5).orders(stack.ctx, installation, rows)) == {}
    stack.saleor.mode = "ok"
    (found,) = asyncio.run(OrderLookup(budget=30).orders(stack.ctx, installation, rows)).values()
    assert found.order_id == order_id and found.order_number == "7"
