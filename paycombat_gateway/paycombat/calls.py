"""Every PayCombat operation as a pure description: which endpoint, what to send, how to read the answer.

A ``Call`` does no I/O. ``protocol.Exchange`` turns it into signed HTTP requests and a typed result,
and the two clients in ``client.py`` (sync for commands, async for the server) only carry it, so an
endpoint is defined once here and cannot drift between the two.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from paycombat_gateway.paycombat import errors
from paycombat_gateway.paycombat.contract import ENDPOINTS, Endpoint
from paycombat_gateway.paycombat.models import (
    Balance,
    Checkout,
    Customer,
    Payin,
    PaymentRequest,
    Payout,
    VirtualAccount,
)

__all__ = ["Call"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Parser = Callable[[Any, str], T]  # (the envelope's ``data``, the endpoint's name) -> the result


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One PayCombat operation: the endpoint, its body, query and path values, and its parser."""

    endpoint: Endpoint
    parse: Parser[T]
    body: Mapping[str, Any] | None = None
    query: Mapping[str, str | int] | None = None
    path: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.endpoint.name

    def url_path(self) -> str:
        return self.endpoint.url_path(**self.path)


def _call(
    name: str,
    parse: Parser[T],
    body: Mapping[str, Any] | None = None,
    *,
    query: Mapping[str, str | int] | None = None,
    **path: str,
) -> Call[T]:
    return Call(ENDPOINTS[name], parse, body, query, path)


# --- parsers ----------------------------------------------------------------------------------------


def _model(model: type[M]) -> Parser[M]:
    def parse(data: Any, name: str) -> M:
        if not isinstance(data, dict):
            raise errors.MalformedResponseError(f"PayCombat's {name} answer has no data object")
        try:
            return model.model_validate(data)
        except ValueError:
            raise errors.MalformedResponseError(
                f"PayCombat's {name} answer does not have the expected fields"
            ) from None

    return parse


def _object(data: Any, name: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise errors.MalformedResponseError(f"PayCombat's {name} answer has no data object")
    return data


def _objects(data: Any, name: str) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        data = data.get("data", data.get("items"))
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise errors.MalformedResponseError(f"PayCombat's {name} answer has no list of objects")
    return data


def _checkouts(data: Any, name: str) -> list[Checkout]:
    items = data.get("data", data.get("items", [])) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise errors.MalformedResponseError(f"PayCombat's {name} answer has no list")
    return [_model(Checkout)(item, name) for item in items]


# --- checkout -----------------------------------------------------------------------------------------


def create_payment_request(request: PaymentRequest) -> Call[Checkout]:
    """Create a hosted checkout; ``checkout_url`` is where the shopper goes."""
    return _call("create_payment_request", _model(Checkout), request.to_body())


def create_new_checkout(checkout_token: str, payin_method_name: str) -> Call[Checkout]:
    """Bind (or switch) the payin method of an existing checkout."""
    body = {"checkout_token": checkout_token, "payin_method_name": payin_method_name}
    return _call("create_new_checkout", _model(Checkout), body)


def get_detail_checkout(checkout_id: str) -> Call[Checkout]:
    return _call("get_detail_checkout", _model(Checkout), checkout_id=checkout_id)


def get_all_checkout(*, page: int = 1, limit: int = 20) -> Call[list[Checkout]]:
    return _call("get_all_checkout", _checkouts, query={"page": page, "limit": limit})


def cancel_checkout(checkout_token: str) -> Call[Checkout]:
    return _call("cancel_checkout", _model(Checkout), {"checkout_token": checkout_token})


def create_virtual_account_krw(checkout_token: str, bank_name: str) -> Call[Checkout]:
    """Open a KRW virtual account on a checkout at ``bank_name`` (e.g. ``"KDB산업은행"``)."""
    body = {"checkout_token": checkout_token, "payin_method_name": bank_name}
    return _call("create_virtual_account_krw", _model(Checkout), body)


def get_va_bank_information_krw(checkout_token: str) -> Call[VirtualAccount]:
    return _call("get_va_bank_information_krw", _model(VirtualAccount), checkout_token=checkout_token)


# --- payin ----------------------------------------------------------------------------------------------


def create_payin(body: Mapping[str, Any]) -> Call[Payin]:
    """Create Payin (body documented only in prose; passed through in the caller's key order)."""
    return _call("create_payin", _model(Payin), body)


def retrieve_payin(payin_id: str) -> Call[Payin]:
    return _call("retrieve_payin", _model(Payin), payin_id=payin_id)


def create_virtual_account(body: Mapping[str, Any]) -> Call[dict[str, Any]]:
    return _call("create_virtual_account", _object, body)


def get_all_payin_method() -> Call[list[dict[str, Any]]]:
    return _call("get_all_payin_method", _objects)


def get_list_payment_method_by_currency(currency: str) -> Call[list[dict[str, Any]]]:
    return _call("get_list_payment_method_by_currency", _objects, currency=currency.upper())


def get_required_fields_by_payin_method(payin_method_name: str) -> Call[dict[str, Any]]:
    return _call("get_required_fields_by_payin_method", _object, payin_method_name=payin_method_name)


# --- transaction (reconciliation: contract inferences ``transaction_lookup``) --------------------------


def _payins(data: Any, name: str) -> list[Payin]:
    return [_model(Payin)(item, name) for item in _objects(data, name)]


def get_all_transaction(
    *, reference: str | None = None, record_type: str | None = "PAYIN", page: int = 1, limit: int = 20
) -> Call[list[Payin]]:
    """Transactions (payin records when ``record_type`` is PAYIN) carrying ``reference``, newest first."""
    query: dict[str, str | int] = {"page": page, "per_page": limit}
    if reference is not None:
        query["reference"] = reference
    if record_type is not None:
        query["type"] = record_type
    return _call("get_all_transaction", _payins, query=query)


def find_transaction_by_id(transaction_id: str) -> Call[Payin]:
    return _call("find_transaction_by_id", _model(Payin), transaction_id=transaction_id)


# --- customer, payout, merchant -------------------------------------------------------------------------


def create_customer(body: Mapping[str, Any]) -> Call[Customer]:
    return _call("create_customer", _model(Customer), body)


def update_customer(customer_id: str, body: Mapping[str, Any]) -> Call[Customer]:
    return _call("update_customer", _model(Customer), {"customer_id": customer_id, **body})


def create_payout(body: Mapping[str, Any]) -> Call[Payout]:
    return _call("create_payout", _model(Payout), body)


def get_balance_payout(currency: str) -> Call[Balance]:
    return _call("get_balance_payout", _model(Balance), currency=currency.upper())
