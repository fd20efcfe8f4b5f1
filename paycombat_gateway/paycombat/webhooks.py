"""PayCombat webhooks: authenticate, then parse into one small typed value.

Parsing is defensive because the body is the outside world's: not UTF-8, not JSON, not an object or
nested absurdly deep are all refused with a clear reason before anything looks inside. The kind of
event follows ``type`` and ``status`` (contract inference ``webhook_kind_from_status``), so both the
documented payin shape and the payout-shaped example of PAYIN FAILED are understood.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from paycombat_gateway.money import MoneyError, to_decimal
from paycombat_gateway.paycombat.contract import PAYIN_WORDS_FIELDS, WebhookKind
from paycombat_gateway.paycombat.errors import InvalidRequestError, SignatureError
from paycombat_gateway.paycombat.signing import verify_webhook_signature

__all__ = ["MAX_NESTING", "PaycombatWebhook", "parse_webhook", "verify_and_parse"]

MAX_NESTING = 32
_PAYIN_KINDS = {
    "SUCCESS": WebhookKind.PAYIN_SUCCESS,
    "FAILED": WebhookKind.PAYIN_FAILED,
    "EXPIRED": WebhookKind.PAYIN_EXPIRED,
    "PENDING": WebhookKind.PAYIN_PENDING,
}


@dataclass(frozen=True, slots=True)
class PaycombatWebhook:
    """What a delivery says, in the terms the payment flow needs."""

    kind: WebhookKind
    object_id: str | None
    status: str | None
    amount: Decimal | None
    currency: str | None
    payment_method: str | None
    references: tuple[str, ...]
    body: dict[str, Any]

    def named(self, field: str) -> str | None:
        """The body's ``field`` as text (stripped), None when absent, empty or not a plain value."""
        return _text(self.body.get(field))

    def own_words(self) -> str:
        """What PayCombat said of the payin in its own fields (``PAYIN_WORDS_FIELDS``: status, amount,
        currency, reply code), fit for a page and a log: no shopper data, no control characters, each
        value cut short. E.g. ``status SUCCESS, amount -100, amount_type AUD``."""
        said = []
        for name in PAYIN_WORDS_FIELDS:
            value = self.named(name)
            if value is not None:
                printable = "".join(ch if ch.isprintable() else " " for ch in value)
                said.append(f"{name} {printable[:40]}")
        return ", ".join(said) or "nothing about the payin"

    @property
    def dedupe_key(self) -> str:
        """Same event, same key, however it was serialised: kind, object id and status."""
        return f"{self.kind.value}:{self.object_id or '-'}:{self.status or '-'}"


def _nesting_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest (brackets inside strings ignored), or an upper bound when
    that bound is already within the limit."""
    openers = raw.count(b"[") + raw.count(b"{")
    if openers <= MAX_NESTING:
        return openers  # nothing can nest deeper than it has openers: skip the byte-by-byte scan
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _kind(body: dict[str, Any]) -> WebhookKind:
    record_type = (_text(body.get("type")) or _text(body.get("credit_type")) or "").upper()
    status = (_text(body.get("status")) or "").upper()
    if record_type == "PAYOUT" or (not record_type and "wire_id" in body):
        return WebhookKind.PAYOUT
    if record_type == "PAYIN":
        return _PAYIN_KINDS.get(status, WebhookKind.UNKNOWN)
    if status == "APPROVED" or (status == "FAILED" and "account_number" in body):
        return WebhookKind.VA_REGISTER  # the VA Register Callback: APPROVED or FAILED, no payin type
    return _PAYIN_KINDS.get(status, WebhookKind.UNKNOWN)


def parse_webhook(raw_body: bytes) -> PaycombatWebhook:
    """Parse a delivery body; raises ``InvalidRequestError`` with a plain reason when it is unusable."""
    if not raw_body.strip():
        raise InvalidRequestError("the webhook body is empty")
    if _nesting_depth(raw_body) > MAX_NESTING:
        raise InvalidRequestError(f"the webhook body is nested deeper than {MAX_NESTING} levels")
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequestError("the webhook body is not UTF-8") from None
    try:
        body = json.loads(text, parse_float=Decimal)
    except ValueError:
        raise InvalidRequestError("the webhook body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("the webhook body is not a JSON object")
    data = body.get("data")
    if (isinstance(data, dict) and "status" not in body) or (
        isinstance(data, dict) and body.get("status") is True
    ):
        body = data  # tolerate the API envelope around the record
    amount: Decimal | None
    try:
        raw_amount = body.get("amount", body.get("wire_amount"))
        amount = to_decimal(raw_amount) if raw_amount is not None else None
    except MoneyError:
        raise InvalidRequestError("the webhook amount is not a number") from None
    currency = _text(body.get("amount_type"))
    if not currency or len(currency) != 3:
        fallback = _text(body.get("currency"))
        currency = fallback if fallback and fallback.upper() != "FIAT" and len(fallback) == 3 else None
    references = tuple(
        dict.fromkeys(
            ref
            for ref in (
                _text(body.get(key)) for key in ("order_reference", "transaction", "description", "order_id")
            )
            if ref
        )
    )
    return PaycombatWebhook(
        kind=_kind(body),
        object_id=_text(body.get("id")),
        status=(_text(body.get("status")) or "").upper() or None,
        amount=amount,
        currency=currency.upper() if currency else None,
        payment_method=_text(body.get("payment_method")) or _text(body.get("payin_method_name")),
        references=references,
        body=body,
    )


def verify_and_parse(raw_body: bytes, signature: str | None, signature_key: str) -> PaycombatWebhook:
    """Check ``X-Signature`` over the raw bytes first; only an authentic body is parsed."""
    if not signature:
        raise SignatureError("the webhook has no X-Signature header")
    if not verify_webhook_signature(raw_body, signature, signature_key):
        raise SignatureError("the webhook's X-Signature does not match this configuration's signature key")
    return parse_webhook(raw_body)
