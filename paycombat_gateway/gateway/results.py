"""Turning outcomes into the answers Saleor validates, with its length limits applied once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ActionResult", "SessionResult", "external_url"]

MAX_MESSAGE = 512  # Saleor truncates longer messages
MAX_PSP_REFERENCE = 512  # varchar(512); longer values have caused HTTP 500s in Saleor
MAX_EXTERNAL_URL = 200  # TransactionEvent.external_url is a Django URLField(max_length=200)


def _message(text: str | None) -> str | None:
    if text is None:
        return None
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def external_url(url: str | None) -> str | None:
    """``url`` when Saleor accepts it as an ``externalUrl``, else None (the field is then left out)."""
    if not url or len(url) > MAX_EXTERNAL_URL:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or "." not in parts.hostname:
        return None  # Saleor rejects URLs without a real domain (observed on 3.21)
    return url


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _common(
    result: str,
    time: datetime,
    psp_reference: str | None,
    amount: Decimal | None,
    message: str | None,
    actions: tuple[str, ...] | None,
    *,
    needs_reference: tuple[str, ...],
) -> dict[str, Any]:
    """The fields both answer schemas share, with Saleor's required-field and length rules applied."""
    if result.endswith(needs_reference) and not psp_reference:
        raise ValueError(f"{result} needs a pspReference")
    body: dict[str, Any] = {"result": result, "time": time.isoformat()}
    if psp_reference:
        body["pspReference"] = psp_reference[:MAX_PSP_REFERENCE]
    if amount is not None:
        body["amount"] = _amount(amount)
    if (text := _message(message)) is not None:
        body["message"] = text
    if actions is not None:
        body["actions"] = list(actions)
    return body


@dataclass(frozen=True, slots=True)
class SessionResult:
    """Answer to TRANSACTION_INITIALIZE_SESSION / TRANSACTION_PROCESS_SESSION (contract §4.4)."""

    result: str
    psp_reference: str | None = None
    amount: Decimal | None = None
    message: str | None = None
    external_url: str | None = None
    actions: tuple[str, ...] | None = None
    data: dict[str, Any] | None = None
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        body = _common(
            self.result, self.time, self.psp_reference, self.amount, self.message, self.actions,
            needs_reference=("_SUCCESS", "_REQUEST"),
        )  # fmt: skip
        if (link := external_url(self.external_url)) is not None:
            body["externalUrl"] = link
        if self.data is not None:
            body["data"] = self.data
        return body


@dataclass(frozen=True, slots=True)
class ActionResult:
    """Answer to TRANSACTION_REFUND_REQUESTED / TRANSACTION_CANCELATION_REQUESTED (§4.5).

    With a ``result`` it is the sync form (Saleor records the outcome now). Without one it is the
    async form: Saleor stores ``psp_reference`` on a pending ``*_REQUEST`` and waits for the outcome
    from ``transactionEventReport``.

    The async form never carries ``actions``: Saleor 3.22 and later parse it with their async
    response schema, which stores the values verbatim, and an upper-case ``REFUND`` stored so makes
    every read of the transaction's actions fail (the Dashboard's order page answers 404). 3.21
    lower-cased them; no version documents a case that is safe on both. So a pending answer is
    ``pspReference`` alone and its buttons are owed through ``transactionUpdate``
    (``reporting.owe_details``), which every version reads back."""

    result: str | None
    psp_reference: str | None
    amount: Decimal | None = None
    message: str | None = None
    actions: tuple[str, ...] | None = None
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        if self.result is None:
            if not self.psp_reference:
                raise ValueError("a pending action needs a pspReference")
            if self.actions is not None:
                raise ValueError("a pending action answer cannot carry actions; owe them instead")
            return {"pspReference": self.psp_reference[:MAX_PSP_REFERENCE]}
        return _common(
            self.result, self.time, self.psp_reference, self.amount, self.message, self.actions,
            needs_reference=("_SUCCESS",),
        )  # fmt: skip
