"""Validation of configuration input: every problem names its field; nothing is saved when any is found."""

from __future__ import annotations

import re
from dataclasses import dataclass

from paycombat_gateway.gateway.errors import PaymentError
from paycombat_gateway.gateway.storefront_data import validate_return_url
from paycombat_gateway.paycombat.contract import PAYIN_METHODS_BY_CURRENCY

__all__ = ["FieldProblem", "check_configuration"]

_CHANNEL = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
KNOWN_METHODS = sorted({method for methods in PAYIN_METHODS_BY_CURRENCY.values() for method in methods})


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    code: str
    message: str


def check_configuration(
    *,
    name: str | None,
    environment: str | None,
    x_token: str | None,
    signature_key: str | None,
    api_url: str | None,
    redirect_url: str | None,
    allowed_payin_methods: list[str] | None,
    channels: list[str] | None,
    creating: bool,
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if name is not None or creating:
        if not name or not name.strip():
            problems.append(FieldProblem("name", "REQUIRED", "Give the configuration a name."))
        elif len(name.strip()) > 120:
            problems.append(FieldProblem("name", "TOO_LONG", "Names are at most 120 characters."))
    if environment is not None and environment not in {"sandbox", "live"}:
        problems.append(FieldProblem("environment", "INVALID", "Environment is sandbox or live."))
    for field, value, label in (
        ("xToken", x_token, "X-token"),
        ("signatureKey", signature_key, "signature key"),
    ):
        if creating and not (value or "").strip():
            problems.append(FieldProblem(field, "REQUIRED", f"Paste the PayCombat {label}."))
        elif value and (len(value.strip()) < 8 or any(ch.isspace() for ch in value.strip())):
            problems.append(FieldProblem(field, "INVALID", f"That does not look like a PayCombat {label}."))
    for field, url, label in (
        ("apiUrl", api_url, "The PayCombat API URL"),
        ("redirectUrl", redirect_url, "The return URL"),
    ):
        if url:
            try:
                validate_return_url(url, label)
            except PaymentError as exc:
                problems.append(FieldProblem(field, "INVALID", exc.message))
    unknown = sorted(set(allowed_payin_methods or []) - set(KNOWN_METHODS))
    if unknown:
        problems.append(
            FieldProblem("allowedPayinMethods", "INVALID", f"Unknown payin method(s): {', '.join(unknown)}.")
        )
    bad = [slug for slug in channels or [] if not _CHANNEL.match(slug)]
    if bad:
        problems.append(FieldProblem("channels", "INVALID", f"Not a channel slug: {', '.join(bad)[:100]}."))
    return problems
