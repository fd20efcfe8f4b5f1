"""The JWKS refresher: single-flight per Saleor, keeps whatever parses, a rotation never more than one fetch away."""

from __future__ import annotations

import json
import threading
import uuid

from paycombat_gateway.saleor.jwks_refresh import JwksRefresher
from tests.support.saleor_double import SigningKey

URL = "https://shop.example.com/graphql/"
OLD, NEW = SigningKey.generate(), SigningKey.generate()


def _jwks(key: SigningKey) -> str:
    return json.dumps({"keys": [key.jwk]})


class CountingSaleor:
    """Publishes one key; a fetch can be held open to line requests up behind it."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self.fetches = 0
        self.kept: list[str] = []
        self.hold = threading.Event()
        self.hold.set()
        self.fetching = threading.Event()

    def fetch(self) -> str:
        self.fetches += 1
        published = _jwks(self.key)  # what Saleor serves when the request reaches it
        self.fetching.set()
        self.hold.wait(10)
        return published


def _ask(refresher: JwksRefresher, saleor: CountingSaleor, kid: str, ticket: int) -> str | None:
    return refresher.jwks_with(URL, kid, ticket=ticket, fetch=saleor.fetch, keep=saleor.kept.append)


def test_concurrent_unknown_kids_share_one_fetch_and_later_arrivals_get_the_next() -> None:
    refresher, saleor = JwksRefresher(spacing=0), CountingSaleor(OLD)
    saleor.hold.clear()
    first_ticket = refresher.ticket(URL)
    results: list[str | None] = []
    early = [
        threading.Thread(
            target=lambda: results.append(_ask(refresher, saleor, uuid.uuid4().hex, first_ticket))
        )
        for _ in range(20)
    ]
    for thread in early:
        thread.start()
    assert saleor.fetching.wait(5)
    late_ticket = refresher.ticket(URL)  # arrives while the first fetch is running: it may predate a rotation
    saleor.key = NEW
    late = threading.Thread(target=lambda: results.append(_ask(refresher, saleor, NEW.kid, late_ticket)))
    late.start()
    saleor.hold.set()
    for thread in [*early, late]:
        thread.join(10)
    assert saleor.fetches == 2  # one for the twenty forgeries, one more for the request after it began
    assert results.count(None) == 20 and _jwks(NEW) in results
    assert saleor.kept == [_jwks(OLD), _jwks(NEW)]


def test_a_kept_key_set_answers_without_fetching() -> None:
    refresher, saleor = JwksRefresher(spacing=0), CountingSaleor(NEW)
    assert _ask(refresher, saleor, uuid.uuid4().hex, refresher.ticket(URL)) is None
    assert _ask(refresher, saleor, NEW.kid, refresher.ticket(URL)) == _jwks(NEW)
    assert saleor.fetches == 1


def test_an_unparseable_or_unreachable_jwks_keeps_the_keys_it_had() -> None:
    refresher, saleor = JwksRefresher(spacing=0), CountingSaleor(OLD)
    assert _ask(refresher, saleor, OLD.kid, refresher.ticket(URL)) == _jwks(OLD)

    def broken() -> str:
        raise OSError("connection refused")

    for fetch in (broken, lambda: '{"keys": [{"kty": "nonsense"}]}'):
        kid = uuid.uuid4().hex
        assert (
            refresher.jwks_with(URL, kid, ticket=refresher.ticket(URL), fetch=fetch, keep=saleor.kept.append)
            is None
        )
    assert refresher.kept(URL) == _jwks(OLD)
    assert saleor.kept == [_jwks(OLD)]
