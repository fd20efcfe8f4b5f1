"""The Dashboard's token: signature by kid, exp, app, iss, type and the staff user's permissions."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from paycombat_gateway.saleor.dashboard_token import (
    TokenExpired,
    TokenForbidden,
    TokenInvalid,
    verify_dashboard_token,
)
from tests.support.saleor_double import SaleorDouble, SigningKey, run_saleor


@pytest.fixture(scope="module")
def saleor() -> Iterator[SaleorDouble]:
    with run_saleor() as double:
        yield double


def _verify(saleor: SaleorDouble, token: str, jwks: str | None = None) -> object:
    return verify_dashboard_token(
        token,
        saleor_api_url=saleor.api_url,
        app_id=saleor.app_id,
        jwks_text=jwks if jwks is not None else json.dumps(saleor.jwks()),
        current_keys=lambda kid: json.dumps(saleor.jwks()),
    )


def test_valid_token(saleor: SaleorDouble) -> None:
    user = _verify(saleor, saleor.dashboard_token())
    assert user.email == "admin@example.com"  # type: ignore[attr-defined]


def test_expired_token_is_told_apart(saleor: SaleorDouble) -> None:
    with pytest.raises(TokenExpired):
        _verify(saleor, saleor.dashboard_token(ttl=-60))


@pytest.mark.parametrize(
    "options",
    [{"app_id": "QXBwOjk5"}, {"issuer": "https://evil.example/graphql/"}, {"token_type": "access"}],
)
def test_invalid_claims(saleor: SaleorDouble, options: dict[str, str]) -> None:
    with pytest.raises(TokenInvalid):
        _verify(saleor, saleor.dashboard_token(**options))  # type: ignore[arg-type]


def test_missing_permission_is_forbidden(saleor: SaleorDouble) -> None:
    with pytest.raises(TokenForbidden):
        _verify(saleor, saleor.dashboard_token(user_permissions=("HANDLE_PAYMENTS",)))


def test_forged_token_is_invalid_even_after_refetch(saleor: SaleorDouble) -> None:
    with pytest.raises(TokenInvalid):
        _verify(saleor, saleor.dashboard_token(key=SigningKey.generate()))


def test_rotated_key_is_found_by_refetching(saleor: SaleorDouble) -> None:
    stale = json.dumps(saleor.jwks())
    saleor.rotate_key()
    user = _verify(saleor, saleor.dashboard_token(), jwks=stale)
    assert user is not None
