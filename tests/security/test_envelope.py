"""The SM2+SM4 envelope: round trip both ways, expiry, replay and tampering."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ihos.kit.time import clock
from ihos.security import gm
from ihos.security.envelope import (
    EnvelopeError,
    EnvelopeExpired,
    EnvelopeInvalid,
    EnvelopeReplayed,
    MemoryNonceStore,
    RedisNonceStore,
    open_request,
    open_response,
    seal_request,
)
from ihos.security.gm import SM2PrivateKey
from ihos.security.keys import get_keyring

NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
BODY = json.dumps({"id_number": "11010519491231002X", "name": "张三"}, ensure_ascii=False).encode()


@pytest.fixture(scope="module")
def server_key() -> SM2PrivateKey:
    return SM2PrivateKey.generate()


@pytest.fixture
def store() -> MemoryNonceStore:
    return MemoryNonceStore()


def b64_flip(value: str, index: int = -1) -> str:
    data = bytearray(base64.b64decode(value))
    data[index] ^= 0x01
    return base64.b64encode(bytes(data)).decode()


class TestRoundTrip:
    async def test_it_works(self, server_key: SM2PrivateKey, store: MemoryNonceStore) -> None:
        envelope, session_key = seal_request(server_key.public_key(), BODY, now=NOW)
        assert sorted(envelope) == ["data", "key", "nonce", "rid", "ts", "v"]
        assert envelope["v"] == 1
        assert envelope["ts"] == int(NOW.timestamp())
        assert len(base64.b64decode(envelope["nonce"])) == 12
        assert len(base64.b64decode(envelope["data"])) == len(BODY) + 16

        plaintext, sealer = await open_request(envelope, private_key=server_key, nonce_store=store, now=NOW)
        assert plaintext == BODY

        response = sealer.seal(b'{"ok":true}', now=NOW + timedelta(seconds=1))
        assert sorted(response) == ["data", "nonce", "rid", "ts", "v"]
        assert response["rid"] == envelope["rid"]
        assert response["ts"] == int(NOW.timestamp()) + 1
        assert response["nonce"] != envelope["nonce"]
        assert open_response(session_key, response) == b'{"ok":true}'

    async def test_the_keyring_key_is_the_default(self, key_file: Path, store: MemoryNonceStore) -> None:
        envelope, _ = seal_request(get_keyring().sm2_public, BODY, now=NOW)
        plaintext, _ = await open_request(envelope, nonce_store=store, now=NOW)
        assert plaintext == BODY

    async def test_now_defaults_to_the_clock(
        self, server_key: SM2PrivateKey, store: MemoryNonceStore
    ) -> None:
        clock.freeze(NOW)
        envelope, _ = seal_request(server_key.public_key(), BODY)
        assert envelope["ts"] == int(NOW.timestamp())
        plaintext, _ = await open_request(envelope, private_key=server_key, nonce_store=store)
        assert plaintext == BODY

    async def test_a_raw_c1c3c2_key_as_sm_crypto_sends_it(
        self, server_key: SM2PrivateKey, store: MemoryNonceStore
    ) -> None:
        envelope, _ = seal_request(server_key.public_key(), BODY, now=NOW)
        raw = gm.ciphertext_to_raw(base64.b64decode(envelope["key"]))
        envelope["key"] = base64.b64encode(raw).decode()
        plaintext, _ = await open_request(envelope, private_key=server_key, nonce_store=store, now=NOW)
        assert plaintext == BODY

    async def test_either_sm2_backend(
        self, sm2_backend: str, server_key: SM2PrivateKey, store: MemoryNonceStore
    ) -> None:
        envelope, session_key = seal_request(server_key.public_key(), BODY, now=NOW)
        plaintext, sealer = await open_request(envelope, private_key=server_key, nonce_store=store, now=NOW)
        assert plaintext == BODY
        assert open_response(session_key, sealer.seal(b"{}", now=NOW)) == b"{}"


class TestExpiry:
    @pytest.mark.parametrize("offset", [-300, 300])
    async def test_edges_of_the_window_are_accepted(
        self, server_key: SM2PrivateKey, store: MemoryNonceStore, offset: int
    ) -> None:
        envelope, _ = seal_request(server_key.public_key(), BODY, now=NOW + timedelta(seconds=offset))
        plaintext, _ = await open_request(envelope, private_key=server_key, nonce_store=store, now=NOW)
        assert plaintext == BODY

    @pytest.mark.parametrize("offset", [-301, 301])
    async def test_outside_the_window_is_refused(
        self, server_key: SM2PrivateKey, store: MemoryNonceStore, offset: int
    ) -> None:
        envelope, _ = seal_request(server_key.public_key(), BODY, now=NOW + timedelta(seconds=offset))
        with pytest.raises(EnvelopeExpired) as refused:
            await open_request(envelope, private_key=server_key, nonce_store=store, now=NOW)
        assert refused.value.code == "envelope_expired"
        assert refused.value.details == {"ts": envelope["ts"], "server_ts": int(NOW.timestamp())}
        assert store._expiry == {}  # nothing remembered for a refused envelope


class TestReplay:
    async def test_the_same_envelope_twice_is_refused(
        self, server_key: SM2PrivateKey, store: MemoryNonceStore
    ) -> None:
        envelope, _ = seal_request(server_key.public_key(), BODY, now=NOW)
        await open_request(envelope, private_key=server_key, nonce_store=store, now=NOW)
        with pytest.raises(EnvelopeReplayed) as refused:
            await open_request(
                envelope, private_key=server_key, nonce_store=store, now=NOW + timedelta(seconds=5)
            )
        assert refused.value.status == 409

    async def test_a_tampered_copy_does_not_burn_the_request_id(
        self, server_key: SM2PrivateKey, store: MemoryNonceStore
    ) -> None:
        envelope, _ = seal_request(server_key.public_key(), BODY, now=NOW)
        with pytest.raises(EnvelopeInvalid):
            await open_request(
                {**envelope, "data": b64_flip(envelope["data"])},
                private_key=server_key,
                nonce_store=store,
                now=NOW,
            )
        plaintext, _ = await open_request(envelope, private_key=server_key, nonce_store=store, now=NOW)
        assert plaintext == BODY


class TestMemoryNonceStore:
    async def test_it_forgets_after_the_ttl(self) -> None:
        clock.freeze(NOW)
        store = MemoryNonceStore()
        assert await store.remember("a", 600) is True
        assert await store.remember("a", 600) is False
        clock.travel(timedelta(seconds=599))
        assert await store.remember("a", 600) is False
        clock.travel(timedelta(seconds=1))
        assert await store.remember("a", 600) is True

    async def test_it_stays_bounded(self) -> None:
        clock.freeze(NOW)
        store = MemoryNonceStore(max_entries=10)
        for number in range(25):
            assert await store.remember(f"n{number}", 600) is True
        assert len(store._expiry) <= 10
        assert await store.remember("n24", 600) is False  # the newest are kept


class TestTampering:
    @pytest.mark.parametrize(
        ("name", "change", "failing_field"),
        [
            ("data", lambda e: b64_flip(e["data"]), "data"),  # the tag
            ("data", lambda e: b64_flip(e["data"], 0), "data"),  # the ciphertext
            # The nonce, timestamp and request id are authenticated: changing them breaks the tag.
            ("nonce", lambda e: b64_flip(e["nonce"]), "data"),
            ("ts", lambda e: e["ts"] - 1, "data"),
            ("rid", lambda e: ("B" if e["rid"][0] == "A" else "A") + e["rid"][1:], "data"),
            ("key", lambda e: b64_flip(e["key"]), "key"),
        ],
    )
    async def test_altered_fields_are_refused(
        self, server_key: SM2PrivateKey, store: MemoryNonceStore, name: str, change: Any, failing_field: str
    ) -> None:
        envelope, _ = seal_request(server_key.public_key(), BODY, now=NOW)
        tampered = {**envelope, name: change(envelope)}
        assert tampered[name] != envelope[name]
        with pytest.raises(EnvelopeInvalid) as refused:
            await open_request(tampered, private_key=server_key, nonce_store=store, now=NOW)
        assert refused.value.details == {"field": failing_field}
        assert store._expiry == {}

    async def test_another_server_key_is_refused(
        self, server_key: SM2PrivateKey, store: MemoryNonceStore
    ) -> None:
        envelope, _ = seal_request(SM2PrivateKey.generate().public_key(), BODY, now=NOW)
        with pytest.raises(EnvelopeInvalid) as refused:
            await open_request(envelope, private_key=server_key, nonce_store=store, now=NOW)
        assert refused.value.details == {"field": "key"}

    async def test_a_wrapped_key_of_the_wrong_size_is_refused(
        self, server_key: SM2PrivateKey, store: MemoryNonceStore
    ) -> None:
        envelope, _ = seal_request(server_key.public_key(), BODY, now=NOW)
        envelope["key"] = base64.b64encode(server_key.public_key().encrypt(os.urandom(32))).decode()
        with pytest.raises(EnvelopeInvalid) as refused:
            await open_request(envelope, private_key=server_key, nonce_store=store, now=NOW)
        assert refused.value.details == {"field": "key"}

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"v": 2}, "v"),
            ({"v": True}, "v"),
            ({"ts": "1772353800"}, "ts"),
            ({"ts": True}, "ts"),
            ({"rid": "short"}, "rid"),
            ({"rid": "has:colon-and-is-long-enough"}, "rid"),
            ({"nonce": "AAAA"}, "nonce"),
            ({"data": "not base64!"}, "data"),
            ({"key": None}, "key"),
        ],
    )
    async def test_malformed_envelopes_are_refused(
        self, server_key: SM2PrivateKey, store: MemoryNonceStore, change: dict[str, Any], field: str
    ) -> None:
        envelope, _ = seal_request(server_key.public_key(), BODY, now=NOW)
        with pytest.raises(EnvelopeInvalid) as refused:
            await open_request({**envelope, **change}, private_key=server_key, nonce_store=store, now=NOW)
        assert refused.value.details == {"field": field}
        assert refused.value.code == "envelope_invalid"

    async def test_altered_response_is_refused(
        self, server_key: SM2PrivateKey, store: MemoryNonceStore
    ) -> None:
        envelope, session_key = seal_request(server_key.public_key(), BODY, now=NOW)
        _, sealer = await open_request(envelope, private_key=server_key, nonce_store=store, now=NOW)
        response = sealer.seal(b"{}", now=NOW)
        for tampered in (
            {**response, "data": b64_flip(response["data"])},
            {**response, "ts": response["ts"] + 1},
            {**response, "nonce": b64_flip(response["nonce"])},
        ):
            with pytest.raises(EnvelopeInvalid):
                open_response(session_key, tampered)
        with pytest.raises(EnvelopeInvalid):
            open_response(os.urandom(16), response)

    async def test_a_request_cannot_pass_for_a_response(self, server_key: SM2PrivateKey) -> None:
        # The direction is part of the AAD, so an attacker cannot reflect the request back.
        envelope, session_key = seal_request(server_key.public_key(), BODY, now=NOW)
        with pytest.raises(EnvelopeInvalid):
            open_response(session_key, envelope)

    def test_errors_share_a_base(self) -> None:
        assert issubclass(EnvelopeExpired, EnvelopeError)
        assert issubclass(EnvelopeReplayed, EnvelopeError)
        assert issubclass(EnvelopeInvalid, EnvelopeError)


@pytest.mark.redis
class TestRedisNonceStore:
    async def test_it_works(self) -> None:
        url = os.environ.get("IHOS_TEST_REDIS_URL")
        if not url:
            pytest.skip("set IHOS_TEST_REDIS_URL to test the Redis nonce store")
        from redis.asyncio import Redis

        client = Redis.from_url(url)
        prefix = f"ihos-test:{os.urandom(6).hex()}:"
        store = RedisNonceStore(client, prefix=prefix)
        try:
            assert await store.remember("rid-1", 60) is True
            assert await store.remember("rid-1", 60) is False
            assert await store.remember("rid-2", 60) is True
            assert 0 < await client.ttl(prefix + "rid-1") <= 60
        finally:
            await client.delete(prefix + "rid-1", prefix + "rid-2")
            await client.aclose()
