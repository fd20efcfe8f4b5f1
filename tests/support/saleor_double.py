"""A Saleor test double that does what Saleor core does, over real HTTP on loopback.

- signs webhook bodies like Saleor: detached RS256 JWS, ``b64: false``, ``kid`` = RFC 7638 thumbprint,
  and publishes the key at ``/.well-known/jwks.json`` (``rotate_key()`` swaps in a new one;
  ``jwks_fetches`` counts the requests for it);
- sends the register call and webhooks with Saleor's exact headers; ``delete_app`` does what
  ``appDelete`` does (3.23+ tells the deleted app with ``APP_DELETED``, 3.21 does not);
- serves ``/graphql/`` built from the real schema SDL: every document is validated against it, the app
  token is checked, ``{ app { id } }`` answers, ``channels`` lists ``channels``, ``transaction(id)``
  answers from ``transactions`` (with the order ``complete_checkout`` gave it), and
  ``transactionEventReport`` follows Saleor's
  deduplication (same type + pspReference + amount: ``alreadyProcessed``; different amount:
  ``INCORRECT_DETAILS``), recording every call;
- keeps what the order page shows of each transaction (``transaction(id)``: name, externalUrl,
  availableActions), changed as Saleor changes it: ``transactionUpdate`` and every event report's
  ``availableActions``; a sync answer's ``actions`` only where Saleor applies them (``apply_answer``);
- behaves as the Saleor ``version`` it is told (default the newest, "3.23"; "3.22" and "3.21" too):
  Saleor stores actions lower-case (``refund``) and reads them back through ``TransactionActionEnum``.
  An action answer with a ``result`` is lower-cased by every version; one without (the pending form)
  is lower-cased by 3.21 but stored verbatim from 3.22 on, and an upper-case stored value then makes
  every read of the transaction's actions fail, as the real one's order page does (404);
- answers ``shop { version }`` with its full version (``FULL_VERSIONS``);
- from 3.22 only, keeps the app's App Problems (contract §6.4): ``appProblemCreate`` aggregates a problem
  into the newest undismissed one with the same key updated within ``aggregationPeriod`` minutes
  (count + 1, the new message), else adds one, keeping at most 100 (the oldest goes);
  ``appProblemDismiss(byApp: {keys})`` dismisses them (by APP); ``app { problems }`` lists them. Every
  such call is recorded in ``problem_calls``. On 3.21 these documents fail validation, as in Saleor;
- can refuse the next N reports (``refuse_next_reports``: 503, as a Saleor briefly down);
- can be switched to fail: ``mode = "down"`` (503), ``"errors"`` (GraphQL errors), ``"slow"`` or
  ``"trickle"`` (every GraphQL answer trickles one byte at a time, ``tests.support.trickle``), and
  ``jwks_mode = "trickle"`` does the same to the JWKS; ``trickles`` records when each began and ended.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from graphql import GraphQLSchema, build_schema, execute, parse, validate
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paycombat_gateway.background_server import serve_in_thread
from tests.support.fixtures import fixture_text
from tests.support.trickle import Trickles


@cache
def saleor_schema(version: str) -> GraphQLSchema:
    return build_schema(fixture_text(f"saleor-schema-{version}.graphql"))


def _thumbprint(public_jwk: dict[str, Any]) -> str:
    canonical = json.dumps(
        {k: public_jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True
    )
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


@dataclass
class SigningKey:
    private: rsa.RSAPrivateKey
    kid: str
    jwk: dict[str, Any]

    @classmethod
    def generate(cls) -> SigningKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
        kid = _thumbprint(jwk)
        jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
        return cls(private, kid, jwk)


def _channel(slug: str, name: str, currency: str) -> dict[str, Any]:
    token = base64.b64encode(f"Channel:{slug}".encode()).decode()
    return {"id": token, "slug": slug, "name": name, "currencyCode": currency, "isActive": True}


FULL_VERSIONS = {"3.21": "3.21.69", "3.22": "3.22.36", "3.23": "3.23.28"}  # what ``shop { version }`` answers
MAX_APP_PROBLEMS = 100

DEFAULT_CHANNELS = [
    _channel("default-channel", "Default Channel", "USD"),
    _channel("korea", "Korea", "KRW"),
    _channel("korea-b2b", "Korea B2B", "KRW"),
    _channel("europe", "Europe", "EUR"),
    _channel("poland", "Poland", "PLN"),
]


VERSIONS = ("3.21", "3.22", "3.23")
NEWEST = "3.23"


class UnreadableTransaction(AssertionError):
    """Reading the transaction fails in Saleor (the Dashboard's order page answers 404)."""


def _stored_action(value: str) -> str:
    return str(value).lower()  # what Saleor writes itself, and its sync answer schema, store


def _read_actions(stored: list[str]) -> list[str]:
    """``TransactionItem.availableActions`` as Saleor's GraphQL layer reads the stored values."""
    enum = {"charge": "CHARGE", "refund": "REFUND", "cancel": "CANCEL"}
    for value in stored:
        if value not in enum:
            raise UnreadableTransaction(
                f'Expected a value of type "TransactionActionEnum" but received: {value}'
            )
    return [enum[value] for value in stored]


@dataclass
class SaleorDouble:
    version: str = NEWEST
    app_id: str = "QXBwOjE="
    app_token: str = field(default_factory=lambda: "saleor-app-token-" + uuid.uuid4().hex)
    key: SigningKey = field(default_factory=SigningKey.generate)
    base_url: str = ""
    mode: str = "ok"
    refuse_next_reports: int = 0  # the next N transactionEventReport calls answer 503 (briefly down)
    jwks_mode: str = "ok"
    trickles: Trickles = field(default_factory=Trickles)
    reports: list[dict[str, Any]] = field(default_factory=list)
    graphql_calls: list[dict[str, Any]] = field(default_factory=list)
    invalid_documents: list[str] = field(default_factory=list)
    jwks_fetches: int = 0
    channels: list[dict[str, Any]] = field(default_factory=lambda: [dict(c) for c in DEFAULT_CHANNELS])
    _events: dict[tuple[str, str, str], Decimal | None] = field(default_factory=dict)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    problem_calls: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            raise ValueError(f"the double knows Saleor {', '.join(VERSIONS)}, not {self.version}")

    @property
    def schema_version(self) -> str:
        """The schema fixture this version validates against (3.22 and 3.23 share 3.23's)."""
        return "3.21" if self.version == "3.21" else "3.23"

    # --- identity -------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/graphql/"

    @property
    def domain(self) -> str:
        return self.base_url.split("://", 1)[1]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.jwk]}

    def rotate_key(self) -> None:
        self.key = SigningKey.generate()

    # --- what Saleor sends ----------------------------------------------------------------------

    def sign(self, body: bytes, key: SigningKey | None = None) -> str:
        signing_key = key or self.key
        return jwt.api_jws.encode(
            body,
            signing_key.private,
            algorithm="RS256",
            headers={"kid": signing_key.kid, "b64": False, "crit": ["b64"]},
            is_payload_detached=True,
        )

    def webhook_headers(self, event: str, body: bytes, signature: str | None = None) -> dict[str, str]:
        signature = self.sign(body) if signature is None else signature
        return {
            "Content-Type": "application/json",
            "User-Agent": f"Saleor/{self.version}",
            "Saleor-Event": event.lower(),
            "X-Saleor-Event": event.lower(),
            "Saleor-Domain": self.domain,
            "X-Saleor-Domain": self.domain,
            "Saleor-Api-Url": self.api_url,
            "Saleor-Signature": signature,
            "X-Saleor-Signature": signature,
        }

    @staticmethod
    def serialise(payload: dict[str, Any]) -> bytes:
        """Saleor's serialisation: ``json.dumps`` defaults (spaces after ``:`` and ``,``), numbers as numbers."""
        return json.dumps(
            payload, default=lambda value: float(value) if isinstance(value, Decimal) else str(value)
        ).encode()

    def send_webhook(
        self, app_url: str, path: str, event: str, payload: dict[str, Any], **overrides: Any
    ) -> requests.Response:
        body = overrides.pop("body", None) or self.serialise(payload)
        headers = self.webhook_headers(event, body, overrides.pop("signature", None))
        headers.update(overrides.pop("headers", {}))
        return requests.post(app_url.rstrip("/") + path, data=body, headers=headers, timeout=30)

    def register(self, app_url: str, token: str | None = None) -> requests.Response:
        return requests.post(
            f"{app_url.rstrip('/')}/api/register",
            json={"auth_token": token or self.app_token},
            headers={
                "Saleor-Api-Url": self.api_url,
                "Saleor-Domain": self.domain,
                "X-Saleor-Domain": self.domain,
                "Saleor-Schema-Version": self.version,
                "User-Agent": f"Saleor/{self.version}",
            },
            timeout=30,
        )

    def delete_app(self, app_url: str) -> requests.Response | None:
        """``appDelete``: the app's token stops working at once; Saleor 3.23+ then sends the deleted app
        its own ``APP_DELETED`` (async, signed like every webhook, no permission needed), while 3.21
        never tells the app being deleted. The app's answer, or None."""
        deleted = self.app_id
        self.app_token = "saleor-app-token-" + uuid.uuid4().hex
        if tuple(int(part) for part in self.schema_version.split(".")) < (3, 23):
            return None
        payload = {
            "__typename": "AppDeleted",
            "version": "3.23.28",
            "issuedAt": "2026-12-07T19:00:00+00:00",
            "recipient": {"id": deleted},
            "app": {"id": deleted},
        }
        return self.send_webhook(app_url, "/api/webhooks/saleor/app-deleted", "APP_DELETED", payload)

    def dashboard_token(
        self,
        *,
        app_id: str | None = None,
        user_permissions: tuple[str, ...] = ("MANAGE_APPS", "HANDLE_PAYMENTS", "MANAGE_ORDERS"),
        ttl: int = 300,
        issuer: str | None = None,
        token_type: str = "thirdparty",
        key: SigningKey | None = None,
    ) -> str:
        now = int(time.time())
        claims = {
            "iat": now,
            "exp": now + ttl,
            "owner": "saleor",
            "iss": issuer or self.api_url,
            "token": "staff-jwt-key",
            "email": "admin@example.com",
            "type": token_type,
            "user_id": "VXNlcjox",
            "is_staff": True,
            "app": app_id or self.app_id,
            "permissions": ["HANDLE_PAYMENTS"],
            "user_permissions": list(user_permissions),
        }
        signing_key = key or self.key
        return jwt.encode(claims, signing_key.private, algorithm="RS256", headers={"kid": signing_key.kid})

    # --- what Saleor answers --------------------------------------------------------------------

    def _report(self, info: Any, **args: Any) -> dict[str, Any]:
        amount = Decimal(str(args["amount"])) if args.get("amount") is not None else None
        identity = (str(args["id"]), str(args["type"]), str(args["pspReference"]))
        with self._lock:
            self.reports.append({**args, "amount": amount})
            if identity in self._events:
                if self._events[identity] == amount or amount is None:
                    return {
                        "alreadyProcessed": True,
                        "transaction": {"id": args["id"]},
                        "transactionEvent": {"id": "event-" + "-".join(identity)},
                        "errors": [],
                    }
                return {
                    "alreadyProcessed": False,
                    "transaction": {"id": args["id"]},
                    "transactionEvent": None,
                    "errors": [
                        {
                            "field": "amount",
                            "code": "INCORRECT_DETAILS",
                            "message": "The transaction with provided `pspReference` and `type` already exists with different amount.",
                        }
                    ],
                }
            self._events[identity] = amount
            if args.get("availableActions") is not None:
                self._transaction(identity[0])["availableActions"] = [
                    _stored_action(action) for action in args["availableActions"]
                ]
            return {
                "alreadyProcessed": False,
                "transaction": {"id": args["id"]},
                "transactionEvent": {"id": "event-" + "-".join(identity)},
                "errors": [],
            }

    # Saleor applies a session answer's actions only for these results (BRIEF: facts from real Saleor).
    SESSION_RESULTS_APPLYING_ACTIONS = frozenset(
        {"AUTHORIZATION_SUCCESS", "AUTHORIZATION_REQUEST", "AUTHORIZATION_ACTION_REQUIRED",
         "AUTHORIZATION_FAILURE", "CHARGE_REQUEST", "CHARGE_SUCCESS"}
    )  # fmt: skip

    def _transaction(self, transaction_id: str) -> dict[str, Any]:
        return self.transactions.setdefault(
            transaction_id, {"name": "", "externalUrl": "", "availableActions": []}
        )

    def transaction(self, transaction_id: str) -> dict[str, Any]:
        """What the order page shows of a transaction; ``UnreadableTransaction`` where Saleor's own
        read fails (an action stored upper-case: the order page is a 404)."""
        with self._lock:
            state = dict(self._transaction(transaction_id))
        state["availableActions"] = _read_actions(state["availableActions"])
        return state

    def stored_actions(self, transaction_id: str) -> list[str]:
        """The actions as Saleor's database holds them (lower case when Saleor wrote them)."""
        with self._lock:
            return list(self._transaction(transaction_id)["availableActions"])

    def apply_answer(self, transaction_id: str, *, session: bool, answer: dict[str, Any]) -> None:
        """Apply a sync webhook answer's ``actions`` as Saleor does: an action answer's always (also
        the pending form without result), a session answer's only for some results. With a
        ``result`` they are lower-cased; without one 3.21 lower-cases them too, while 3.22 and later
        parse the answer with the async schema, which stores them verbatim."""
        if answer.get("actions") is None:
            return
        if session and answer.get("result") not in self.SESSION_RESULTS_APPLYING_ACTIONS:
            return
        verbatim = "result" not in answer and self.version != "3.21"
        stored = [str(a) if verbatim else _stored_action(a) for a in answer["actions"]]
        with self._lock:
            self._transaction(transaction_id)["availableActions"] = stored

    def _update(self, info: Any, **args: Any) -> dict[str, Any]:
        changes = args.get("transaction") or {}
        with self._lock:
            self.graphql_calls.append({"transactionUpdate": args})
            state = self._transaction(str(args["id"]))
            for key in ("name", "externalUrl", "availableActions"):
                if changes.get(key) is not None:
                    if key == "availableActions":
                        state[key] = [_stored_action(action) for action in changes[key]]
                    else:
                        state[key] = changes[key]
        return {"transaction": {"id": args["id"]}, "errors": []}

    def complete_checkout(self, transaction_id: str, order_number: str) -> str:
        """The shopper's checkout became order ``order_number``: its transaction now belongs to the order."""
        order_id = base64.b64encode(f"Order:{uuid.uuid4()}".encode()).decode()
        with self._lock:
            state = self._transaction(transaction_id)
            state["order"] = {"id": order_id, "number": order_number}
            state["checkout"] = None
        return order_id

    def _resolve_transaction(self, info: Any, **args: Any) -> dict[str, Any] | None:
        """``transaction(id)``: what the double knows of it (its order once ``complete_checkout`` ran)."""
        with self._lock:
            found = self.transactions.get(str(args.get("id")))
            if found is None:
                return None
            found = dict(found)
        stored = found["availableActions"]
        # Read only when selected, as Saleor does: an unreadable value fails the queries that ask for it.
        found["availableActions"] = lambda info: _read_actions(stored)
        return {"order": None, "checkout": None, **found, "id": args.get("id")}

    def _problem_create(self, info: Any, **args: Any) -> dict[str, Any]:
        given = args["input"]
        key, message = str(given["key"]), str(given["message"])
        if not 3 <= len(key) <= 128 or len(message) < 3:
            return {
                "appProblem": None,
                "errors": [{"field": "key", "code": "INVALID", "message": "Invalid."}],
            }
        now = time.time()
        window = 60 * int(given.get("aggregationPeriod", 60))
        with self._lock:
            self.problem_calls.append({"appProblemCreate": {"key": key, "message": message}})
            open_ones = [p for p in self.problems if p["key"] == key and p["dismissed"] is None]
            latest = max(open_ones, key=lambda p: p["updated"], default=None)
            if latest is not None and window and now - latest["updated"] <= window:
                latest.update(count=latest["count"] + 1, message=message[:2048], updated=now)
                problem = latest
            else:
                problem = {"id": uuid.uuid4().hex, "key": key, "message": message[:2048], "count": 1,
                           "created": now, "updated": now, "dismissed": None}  # fmt: skip
                self.problems.append(problem)
                if len(self.problems) > MAX_APP_PROBLEMS:
                    self.problems.remove(min(self.problems, key=lambda p: p["created"]))
            return {"appProblem": self._problem_view(problem), "errors": []}

    def _problem_dismiss(self, info: Any, **args: Any) -> dict[str, Any]:
        keys = set((args["input"].get("byApp") or {}).get("keys") or [])
        with self._lock:
            self.problem_calls.append({"appProblemDismiss": {"keys": sorted(keys)}})
            for problem in self.problems:
                if problem["key"] in keys and problem["dismissed"] is None:
                    problem["dismissed"] = {"by": "APP"}
        return {"errors": []}

    def dismiss_as_staff(self, key: str) -> None:
        """A staff user dismisses the problem in the Dashboard."""
        with self._lock:
            for problem in self.problems:
                if problem["key"] == key and problem["dismissed"] is None:
                    problem["dismissed"] = {"by": "USER"}

    @staticmethod
    def _problem_view(problem: dict[str, Any]) -> dict[str, Any]:
        return {"id": problem["id"], "key": problem["key"], "message": problem["message"],
                "count": problem["count"], "isCritical": False, "dismissed": problem["dismissed"]}  # fmt: skip

    def open_problems(self) -> dict[str, str]:
        """What the Dashboard shows as not dismissed: key -> message."""
        with self._lock:
            return {p["key"]: p["message"] for p in self.problems if p["dismissed"] is None}

    def _app(self, info: Any) -> dict[str, Any]:
        def problems(info: Any, limit: int = 100) -> list[dict[str, Any]]:
            with self._lock:
                return [self._problem_view(p) for p in self.problems[-limit:]]

        return {"id": self.app_id, "problems": problems}

    def accepted_events(self) -> list[tuple[str, str, str, Decimal | None]]:
        with self._lock:
            return [(*identity, amount) for identity, amount in self._events.items()]

    async def _graphql(self, request: Request) -> Response:
        if self.mode == "down":
            return Response("Service Unavailable", status_code=503)
        if self.mode == "slow":
            time.sleep(3)
        if self.mode == "trickle":
            await request.body()
            return self.trickles.response("graphql")
        body = await request.json()
        if self.refuse_next_reports and "transactionEventReport" in body["query"]:
            self.refuse_next_reports -= 1
            return Response("Service Unavailable", status_code=503)
        document = parse(body["query"])
        errors = validate(saleor_schema(self.schema_version), document)
        self.graphql_calls.append(body)
        if errors:
            self.invalid_documents.append(body["query"])
            return JSONResponse({"errors": [{"message": error.message} for error in errors]}, status_code=400)
        if request.headers.get("authorization") != f"Bearer {self.app_token}":
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Invalid token",
                            "extensions": {"exception": {"code": "InvalidTokenError"}},
                        }
                    ]
                },
                status_code=401,
            )
        if self.mode == "errors":
            return JSONResponse(
                {
                    "errors": [
                        {"message": "Internal error", "extensions": {"exception": {"code": "GraphQLError"}}}
                    ]
                }
            )
        root = {
            "app": self._app,
            "shop": lambda info: {"version": FULL_VERSIONS[self.version]},
            "appProblemCreate": self._problem_create,
            "appProblemDismiss": self._problem_dismiss,
            "channels": lambda info: self.channels,
            "transaction": self._resolve_transaction,
            "transactionEventReport": self._report,
            "transactionUpdate": self._update,
        }
        result = execute(
            saleor_schema(self.schema_version),
            document,
            root_value=root,
            variable_values=body.get("variables") or {},
        )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [{"message": error.message} for error in result.errors]
        return JSONResponse(payload)

    def app(self) -> Starlette:
        async def jwks(request: Request) -> Response:
            with self._lock:
                self.jwks_fetches += 1
            if self.jwks_mode == "trickle":
                return self.trickles.response("jwks")
            return JSONResponse(self.jwks())

        return Starlette(
            routes=[
                Route("/.well-known/jwks.json", jwks),
                Route("/graphql/", self._graphql, methods=["POST"]),
            ]
        )


@contextmanager
def run_saleor(version: str = NEWEST) -> Iterator[SaleorDouble]:
    double = SaleorDouble(version=version)
    saleor_schema(double.schema_version)  # built before serving: the first answer must not wait for it
    with serve_in_thread(double.app()) as base_url:
        double.base_url = base_url
        yield double


# --- payloads shaped like the subscriptions' results (see saleor-observed/) ----------------------------


def checkout_source(
    *,
    channel: str = "default-channel",
    total: str = "49.99",
    currency: str = "USD",
    country: str | None = "US",
    lines: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "__typename": "Checkout",
        "id": "Q2hlY2tvdXQ6" + base64.b64encode(uuid.uuid4().bytes).decode()[:20],
        "email": "customer@example.com",
        "channel": {"slug": channel, "currencyCode": currency},
        "totalPrice": {"gross": {"amount": Decimal(total), "currency": currency}},
        "billingAddress": {"firstName": "Ada", "lastName": "Lovelace", "country": {"code": country}}
        if country
        else None,
        "shippingAddress": None,
        "lines": lines
        if lines is not None
        else [
            {
                "quantity": 1,
                "variant": {"name": "Blue", "product": {"name": "Widget"}},
                "unitPrice": {"gross": {"amount": Decimal(total)}},
                "totalPrice": {"gross": {"amount": Decimal(total)}},
            }
        ],
    }


def transaction_ref() -> dict[str, Any]:
    token = str(uuid.uuid4())
    return {
        "id": base64.b64encode(f"TransactionItem:{token}".encode()).decode(),
        "token": token,
        "pspReference": "",
    }


def initialize_payload(
    double: SaleorDouble,
    *,
    amount: str = "49.99",
    currency: str = "USD",
    data: Any = None,
    idempotency_key: str | None = None,
    source: dict[str, Any] | None = None,
    transaction: dict[str, Any] | None = None,
) -> dict[str, Any]:
    transaction = transaction or transaction_ref()
    return {
        "__typename": "TransactionInitializeSession",
        "version": "3.21.69",
        "issuedAt": "2026-11-25T00:51:55.552545+00:00",
        "recipient": {"id": double.app_id},
        "idempotencyKey": idempotency_key or str(uuid.uuid4()),
        "merchantReference": transaction["id"],
        "customerIpAddress": "127.0.0.1",
        "data": data if data is not None else {"return_url": "https://shop.example.com/checkout/return"},
        "action": {"amount": Decimal(amount), "currency": currency, "actionType": "CHARGE"},
        "transaction": transaction,
        "sourceObject": source or checkout_source(total=amount, currency=currency),
    }


def process_payload(double: SaleorDouble, initialize: dict[str, Any], data: Any = None) -> dict[str, Any]:
    return {
        "__typename": "TransactionProcessSession",
        "version": "3.21.69",
        "recipient": {"id": double.app_id},
        "merchantReference": initialize["merchantReference"],
        "data": data,
        "action": initialize["action"],
        "transaction": initialize["transaction"],
        "sourceObject": {k: initialize["sourceObject"][k] for k in ("__typename", "id", "channel")},
    }


def gateway_payload(
    double: SaleorDouble,
    *,
    amount: str = "49.99",
    currency: str = "USD",
    country: str | None = "US",
    channel: str = "default-channel",
    data: Any = None,
) -> dict[str, Any]:
    source = checkout_source(channel=channel, total=amount, currency=currency, country=country)
    source.pop("lines")
    source.pop("email")
    return {
        "__typename": "PaymentGatewayInitializeSession",
        "version": "3.21.69",
        "recipient": {"id": double.app_id},
        "amount": Decimal(amount),
        "data": data,
        "sourceObject": source,
    }


def action_payload(
    double: SaleorDouble,
    kind: str,
    initialize: dict[str, Any],
    *,
    amount: str | None = None,
    with_order: bool = False,
) -> dict[str, Any]:
    action = dict(initialize["action"])
    action["actionType"] = "REFUND" if kind == "TransactionRefundRequested" else "CANCEL"
    if amount is not None:
        action["amount"] = Decimal(amount)
    channel = {"slug": initialize["sourceObject"]["channel"]["slug"]}
    transaction = {
        **initialize["transaction"],
        "chargedAmount": {"amount": action["amount"], "currency": action["currency"]},
        "authorizedAmount": {"amount": Decimal(0), "currency": action["currency"]},
        "checkout": None if with_order else {"id": initialize["sourceObject"]["id"], "channel": channel},
        "order": {"id": "T3JkZXI6MQ==", "number": "1", "channel": channel} if with_order else None,
    }
    payload = {
        "__typename": kind,
        "version": "3.21.69",
        "recipient": {"id": double.app_id},
        "action": action,
        "transaction": transaction,
    }
    if kind == "TransactionRefundRequested":
        payload["grantedRefund"] = None
    return payload
