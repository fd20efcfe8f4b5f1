"""The JWKS refresher: single-flight per Saleor, keeps whatever parses, a rotation never more than one fetch away."""

from __future__ import annotations

import asyncio
import json
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
        self.hold = asyncio.Event()
        self.hold.set()
        self.fetching = asyncio.Event()

    async def fetch(self) -> str:
        self.fetches += 1
        published = _jwks(self.key)  # what Saleor serves when the request reaches it
        self.fetching.set()
        await asyncio.wait_for(self.hold.wait(), 10)
        return published

    async def keep(self, jwks: str) -> None:
        self.kept.append(jwks)


async def _ask(refresher: JwksRefresher, saleor: CountingSaleor, kid: str, ticket: int) -> str | None:
    return await refresher.jwks_with(URL, kid, ticket=ticket, fetch=saleor.fetch, keep=saleor.keep)


def test_concurrent_unknown_kids_share_one_fetch_and_later_arrivals_get_the_next() -> None:
    async def scenario() -> None:
        refresher, saleor = JwksRefresher(spacing=0), CountingSaleor(OLD)
        saleor.hold.clear()
        first_ticket = refresher.ticket(URL)
        early = [
            asyncio.create_task(_ask(refresher, saleor, uuid.uuid4().hex, first_ticket)) for _ in range(20)
        ]
        await asyncio.wait_for(saleor.fetching.wait(), 5)
        late_ticket = refresher.ticket(URL)  # arrives while the first fetch runs: it may predate a rotation
        saleor.key = NEW
        late = asyncio.create_task(_ask(refresher, saleor, NEW.kid, late_ticket))
        await asyncio.sleep(0)
        saleor.hold.set()
        results = await asyncio.wait_for(asyncio.gather(*early, late), 10)
        assert saleor.fetches == 2  # one for the twenty forgeries, one more for the request after it began
        assert results.count(None) == 20 and _jwks(NEW) in results
        assert saleor.kept == [_jwks(OLD), _jwks(NEW)]

    asyncio.run(scenario())


def test_a_kept_key_set_answers_without_fetching() -> None:
    async def scenario() -> None:
        refresher, saleor = JwksRefresher(spacing=0), CountingSaleor(NEW)
        assert await _ask(refresher, saleor, uuid.uuid4().hex, refresher.ticket(URL)) is None
        assert await _ask(refresher, saleor, NEW.kid, refresher.ticket(URL)) == _jwks(NEW)
        assert saleor.fetches == 1

    asyncio.run(scenario())


def test_an_unparseable_or_unreachable_jwks_keeps_the_keys_it_had() -> None:
    async def scenario() -> None:
        refresher, saleor = JwksRefresher(spacing=0), CountingSaleor(OLD)
        assert await _ask(refresher, saleor, OLD.kid, refresher.ticket(URL)) == _jwks(OLD)

        async def broken() -> str:
            raise OSError("connection refused")

        async def nonsense() -> str:
            return '{"keys": [{"kty": "nonsense"}]}'

        for fetch in (broken, nonsense):
            kid = uuid.uuid4().hex
            found = await refresher.jwks_with(
                URL, kid, ticket=refresher.ticket(URL), fetch=fetch, keep=saleor.keep
            )
            assert found is None
        assert refresher.kept(URL) == _jwks(OLD)
        assert saleor.kept == [_jwks(OLD)]

    asyncio.run(scenario())
