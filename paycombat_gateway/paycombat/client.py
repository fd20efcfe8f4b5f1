"""``PaycombatClient``: one instance per PayCombat configuration, on a pooled ``requests.Session``.

Retries only where they cannot charge anyone twice: GETs are retried on connection errors, 429 and
5xx; POST and PATCH only when the connection failed before the request was sent. Timeouts default
to 3 s to connect and 10 s to read, well inside Saleor's 18 s budget for a sync webhook.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from paycombat_gateway.paycombat import errors
from paycombat_gateway.paycombat.contract import DEFAULT_BASE_URL, ENDPOINTS
from paycombat_gateway.paycombat.models import (
    Balance,
    Checkout,
    Customer,
    Payin,
    PaymentRequest,
    Payout,
    VirtualAccount,
)
from paycombat_gateway.paycombat.signing import sign_body

__all__ = ["PaycombatClient"]

logger = logging.getLogger(__name__)
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _retry_policy(attempts: int) -> Retry:
    return Retry(
        total=attempts,
        connect=attempts,  # the request never left: safe for every method
        read=attempts,
        status=attempts,
        other=0,
        allowed_methods=frozenset({"GET"}),  # read errors and bad statuses are retried for GETs only
        status_forcelist=_RETRY_STATUSES,
        backoff_factor=0.2,
        backoff_max=2.0,
        raise_on_status=False,
        respect_retry_after_header=False,
    )


def _session_for(base_url: str) -> requests.Session:
    """A session that reads the environment's proxy and CA settings once, here, not on every call.

    With ``trust_env`` on, requests looks up proxies, ``NO_PROXY`` and ``~/.netrc`` for each request: a
    quarter of the client's CPU time per call. Reading them once keeps the behaviour a deployment
    expects (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``) and leaves netrc out: PayCombat
    authenticates with the X-token, never with credentials from a file.
    """
    session = requests.Session()
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if ca_bundle:
        session.verify = ca_bundle
    session.trust_env = False
    return session


class PaycombatClient:
    """A typed client of PayCombat's API for one merchant key pair."""

    def __init__(
        self,
        x_token: str,
        signature_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        retries: int = 2,
        session: requests.Session | None = None,
        pool_size: int = 10,
    ) -> None:
        if not x_token or not signature_key:
            raise ValueError("PayCombat needs both an X-token and a signature key")
        self._x_token = x_token
        self._signature_key = signature_key
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self._session = session or _session_for(self.base_url)
        adapter = HTTPAdapter(
            pool_connections=pool_size, pool_maxsize=pool_size, max_retries=_retry_policy(retries)
        )
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def __repr__(self) -> str:
        return f"PaycombatClient(base_url={self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    # --- transport ------------------------------------------------------------------------------

    def _secrets(self) -> tuple[str, str]:
        return (self._x_token, self._signature_key)

    def _call(
        self,
        endpoint_name: str,
        body: Mapping[str, Any] | None = None,
        *,
        query: Mapping[str, str | int] | None = None,
        **path: str,
    ) -> Any:
        endpoint = ENDPOINTS[endpoint_name]
        url = self.base_url + endpoint.url_path(**path)
        headers = {"X-token": self._x_token, "Accept": "application/json"}
        payload: bytes | None = None
        if endpoint.signed:
            signed = sign_body(dict(body or {}), self._signature_key)
            payload = signed.payload
            headers["signature"] = signed.signature
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            response = self._session.request(
                endpoint.method, url, data=payload, params=query, headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            raise errors.TimeoutError(f"PayCombat did not answer {endpoint.name} in time") from None
        except requests.ConnectionError:
            raise errors.ConnectionFailed(f"could not reach PayCombat for {endpoint.name}") from None
        except requests.RequestException as exc:
            # A connection cut mid-body, an undecodable body, a broken header: the call failed in
            # transit, and whether PayCombat acted on it is unknown, as with a timeout.
            raise errors.ConnectionFailed(
                f"the exchange with PayCombat for {endpoint.name} broke off ({type(exc).__name__})"
            ) from None
        finally:
            elapsed = (time.perf_counter() - started) * 1000
        logger.info(
            "paycombat %s %s -> %s (%.0f ms)",
            endpoint.method,
            endpoint.path,
            response.status_code,
            elapsed,
            extra={"ctx_endpoint": endpoint.name, "ctx_status": response.status_code},
        )
        return self._data(endpoint.name, response)

    def _data(self, name: str, response: requests.Response) -> Any:
        try:
            envelope = json.loads(response.content, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            envelope = None
        status = response.status_code
        if status >= 400:
            kind: type[errors.PaycombatError]
            if status in (401, 403):
                kind = errors.AuthenticationError
            elif status == 404:
                kind = errors.NotFoundError
            elif status == 429:
                kind = errors.RateLimitedError
            elif status >= 500:
                kind = errors.ServerError
            else:
                kind = errors.InvalidRequestError
            raise kind(
                f"PayCombat refused {name}",
                http_status=status,
                paycombat_message=self._said(envelope),
                body=self._scrubbed_body(response),
            )
        if not isinstance(envelope, dict) or "status" not in envelope:
            raise errors.MalformedResponseError(
                f"PayCombat answered {name} with something other than its JSON envelope",
                http_status=status,
                body=self._scrubbed_body(response),
            )
        if envelope["status"] is not True:
            raise errors.InvalidRequestError(
                f"PayCombat declined {name}",
                http_status=status,
                paycombat_message=self._said(envelope),
                body=self._scrubbed_body(response),
            )
        return envelope.get("data")

    def _scrubbed_body(self, response: requests.Response) -> str:
        """The body an error keeps, secrets removed. Only errors pay for it: decoding the body as text
        means guessing its charset, and the scrub runs regular expressions over it."""
        return errors.scrub(response.text[:4000], self._secrets())

    def _said(self, envelope: Any) -> str | None:
        """PayCombat's ``message``, secrets removed."""
        said = envelope.get("message") if isinstance(envelope, dict) else None
        return errors.scrub(str(said)[:300], self._secrets()) if said is not None else None

    def _model(self, model: Any, data: Any, name: str) -> Any:
        if not isinstance(data, dict):
            raise errors.MalformedResponseError(f"PayCombat's {name} answer has no data object")
        try:
            return model.model_validate(data)
        except ValueError:
            raise errors.MalformedResponseError(
                f"PayCombat's {name} answer does not have the expected fields"
            ) from None

    # --- checkout -------------------------------------------------------------------------------

    def create_payment_request(self, request: PaymentRequest) -> Checkout:
        """Create a hosted checkout; ``checkout_url`` is where the shopper goes."""
        data = self._call("create_payment_request", request.to_body())
        checkout: Checkout = self._model(Checkout, data, "create_payment_request")
        return checkout

    def create_new_checkout(self, checkout_token: str, payin_method_name: str) -> Checkout:
        """Bind (or switch) the payin method of an existing checkout."""
        data = self._call(
            "create_new_checkout", {"checkout_token": checkout_token, "payin_method_name": payin_method_name}
        )
        checkout: Checkout = self._model(Checkout, data, "create_new_checkout")
        return checkout

    def get_detail_checkout(self, checkout_id: str) -> Checkout:
        checkout: Checkout = self._model(
            Checkout, self._call("get_detail_checkout", checkout_id=checkout_id), "get_detail_checkout"
        )
        return checkout

    def get_all_checkout(self, *, page: int = 1, limit: int = 20) -> list[Checkout]:
        data = self._call("get_all_checkout", query={"page": page, "limit": limit})
        items = data.get("data", data.get("items", [])) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise errors.MalformedResponseError("PayCombat's get_all_checkout answer has no list")
        return [self._model(Checkout, item, "get_all_checkout") for item in items]

    def cancel_checkout(self, checkout_token: str) -> Checkout:
        checkout: Checkout = self._model(
            Checkout, self._call("cancel_checkout", {"checkout_token": checkout_token}), "cancel_checkout"
        )
        return checkout

    def create_virtual_account_krw(self, checkout_token: str, bank_name: str) -> Checkout:
        """Open a KRW virtual account on a checkout at ``bank_name`` (e.g. ``"KDB산업은행"``)."""
        data = self._call(
            "create_virtual_account_krw", {"checkout_token": checkout_token, "payin_method_name": bank_name}
        )
        checkout: Checkout = self._model(Checkout, data, "create_virtual_account_krw")
        return checkout

    def get_va_bank_information_krw(self, checkout_token: str) -> VirtualAccount:
        account: VirtualAccount = self._model(
            VirtualAccount,
            self._call("get_va_bank_information_krw", checkout_token=checkout_token),
            "get_va_bank_information_krw",
        )
        return account

    # --- payin ----------------------------------------------------------------------------------

    def create_payin(self, body: Mapping[str, Any]) -> Payin:
        """Create Payin (body documented only in prose; passed through in the caller's key order)."""
        payin: Payin = self._model(Payin, self._call("create_payin", body), "create_payin")
        return payin

    def retrieve_payin(self, payin_id: str) -> Payin:
        payin: Payin = self._model(Payin, self._call("retrieve_payin", payin_id=payin_id), "retrieve_payin")
        return payin

    def create_virtual_account(self, body: Mapping[str, Any]) -> dict[str, Any]:
        data = self._call("create_virtual_account", body)
        if not isinstance(data, dict):
            raise errors.MalformedResponseError(
                "PayCombat's create_virtual_account answer has no data object"
            )
        return data

    def get_all_payin_method(self) -> list[dict[str, Any]]:
        return self._list(self._call("get_all_payin_method"), "get_all_payin_method")

    def get_list_payment_method_by_currency(self, currency: str) -> list[dict[str, Any]]:
        data = self._call("get_list_payment_method_by_currency", currency=currency.upper())
        return self._list(data, "get_list_payment_method_by_currency")

    def get_required_fields_by_payin_method(self, payin_method_name: str) -> dict[str, Any]:
        data = self._call("get_required_fields_by_payin_method", payin_method_name=payin_method_name)
        if not isinstance(data, dict):
            raise errors.MalformedResponseError("PayCombat's required-fields answer has no data object")
        return data

    def _list(self, data: Any, name: str) -> list[dict[str, Any]]:
        if isinstance(data, dict):
            data = data.get("data", data.get("items"))
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise errors.MalformedResponseError(f"PayCombat's {name} answer has no list of objects")
        return data

    # --- transaction ------------------------------------------------------------------------------

    def get_all_transaction(
        self,
        *,
        reference: str | None = None,
        record_type: str | None = "PAYIN",
        page: int = 1,
        limit: int = 20,
    ) -> list[Payin]:
        """Transactions (payin records when ``record_type`` is PAYIN) carrying ``reference``, newest first.

        The path, filters and shape are contract inferences (``transaction_lookup``).
        """
        query: dict[str, str | int] = {"page": page, "per_page": limit}
        if reference is not None:
            query["reference"] = reference
        if record_type is not None:
            query["type"] = record_type
        items = self._list(self._call("get_all_transaction", query=query), "get_all_transaction")
        return [self._model(Payin, item, "get_all_transaction") for item in items]

    def find_transaction_by_id(self, transaction_id: str) -> Payin:
        payin: Payin = self._model(
            Payin,
            self._call("find_transaction_by_id", transaction_id=transaction_id),
            "find_transaction_by_id",
        )
        return payin

    # --- customer, payout, merchant -----------------------------------------------------------

    def create_customer(self, body: Mapping[str, Any]) -> Customer:
        customer: Customer = self._model(Customer, self._call("create_customer", body), "create_customer")
        return customer

    def update_customer(self, customer_id: str, body: Mapping[str, Any]) -> Customer:
        customer: Customer = self._model(
            Customer, self._call("update_customer", {"customer_id": customer_id, **body}), "update_customer"
        )
        return customer

    def create_payout(self, body: Mapping[str, Any]) -> Payout:
        payout: Payout = self._model(Payout, self._call("create_payout", body), "create_payout")
        return payout

    def get_balance_payout(self, currency: str) -> Balance:
        balance: Balance = self._model(
            Balance, self._call("get_balance_payout", currency=currency.upper()), "get_balance_payout"
        )
        return balance
